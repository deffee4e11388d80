"""Reply objects: what a command answers, independent of where it is shown."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Origin = Literal["measured", "estimated", "configured"]
"""Where a figure came from; every figure shown says which."""


@dataclass(frozen=True)
class ReplyField:
    """One named figure or fact (an embed field in Discord, a line on the console)."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class ReplyFile:
    """An attachment, e.g. a PNG chart."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """A command's answer: text, embed-like fields, an optional file, and whether it is private."""

    text: str = ""
    title: str = ""
    fields: tuple[ReplyField, ...] = ()
    file: ReplyFile | None = None
    ephemeral: bool = False
    is_error: bool = False

    def with_text(self, text: str) -> Reply:
        """A copy with other text."""
        return replace(self, text=text)


def error_reply(message: str) -> Reply:
    """A friendly, private error answer."""
    return Reply(text=message, ephemeral=True, is_error=True)


def origin_of(provenance: str) -> Origin:
    """Map a costing provenance (e.g. 'cpu-time-estimate') to measured/estimated/configured."""
    if "estimate" in provenance:
        return "estimated"
    if "configured" in provenance or "price" in provenance or "settings" in provenance:
        return "configured"
    return "measured"
