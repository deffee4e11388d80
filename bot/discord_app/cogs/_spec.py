"""Slash-command metadata taken from the command layer's spec (one source of truth)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from discord import app_commands

from bot.commands.spec import MAX_PERIOD_CHARS, SPECS_BY_NAME

T = TypeVar("T")
Period = app_commands.Range[str, 1, MAX_PERIOD_CHARS]  # a period option, bounded as the spec


def description(name: str) -> str:
    """The spec's description of a command."""
    return SPECS_BY_NAME[name].description


def from_spec(name: str) -> Callable[[T], T]:
    """Apply the spec's option descriptions and choices to a slash command's callback."""
    options = SPECS_BY_NAME[name].options
    describe = app_commands.describe(**{o.name: o.description for o in options})
    choices: dict[str, Any] = {
        o.name: [app_commands.Choice(name=c, value=c) for c in o.choices]
        for o in options
        if o.choices
    }

    def decorate(func: T) -> T:
        func = describe(func)
        return app_commands.choices(**choices)(func) if choices else func

    return decorate
