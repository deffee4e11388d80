"""Exceptions of the model service; the HTTP status is chosen only in the app's handlers."""

from __future__ import annotations


class InvalidRequestError(ValueError):
    """A request the service will not run: empty or too long text, unknown task, bad types."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class OverloadedError(RuntimeError):
    """The service cannot take the work now: queue full, shutting down or still loading."""

    def __init__(self, code: str, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after_s = retry_after_s
