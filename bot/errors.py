"""Exceptions of the bot; each subclasses a builtin, and the message is built here, once."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the bot turns into a friendly reply."""


class ServiceUnavailableError(BotError, ConnectionError):
    """The model service cannot be reached, is too slow, or is overloaded."""

    def __init__(self, url: str, reason: str, *, retry_after_s: float | None = None) -> None:
        self.url = url
        self.reason = reason
        self.retry_after_s = retry_after_s
        wait = f" in {retry_after_s:g}s" if retry_after_s else " in a minute"
        # The address stays out of the message: it is shown to members, and it is internal.
        super().__init__(
            f"The model service is not answering ({reason}). "
            f"Try again{wait}; if it persists, start it with `costbot serve` (or `costbot up`) "
            "and check its logs."
        )


class ServiceRejectedError(BotError, ValueError):
    """The model service refused the request (HTTP 4xx) with a human-readable detail."""

    def __init__(self, detail: str, *, code: str = "") -> None:
        self.detail = detail
        self.code = code
        super().__init__(f"The model service refused this: {detail}")


class OptionError(BotError, ValueError):
    """A command option is missing, unknown, or out of range."""


class UnknownCommandError(BotError, LookupError):
    """No command by that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"Unknown command `/{name}`. Known commands: {', '.join(known)}.")


class PermissionRequiredError(BotError, PermissionError):
    """A command that changes settings needs the Manage Server permission."""

    def __init__(self, command: str) -> None:
        super().__init__(f"`/{command}` needs the Manage Server permission.")


class ConfigurationError(BotError, RuntimeError):
    """The bot cannot start as configured (e.g. DISCORD_TOKEN missing)."""


class PostFailedError(BotError, ConnectionError):
    """A scheduled post could not be delivered (it is retried)."""
