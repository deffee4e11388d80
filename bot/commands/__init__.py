"""The transport-free command layer: parsed command in, frozen Reply out."""

from bot.commands.context import CommandContext, Invoker
from bot.commands.dispatch import HANDLERS, reply_for_error, run_command
from bot.commands.spec import SPECS, SPECS_BY_NAME, CommandSpec, Option, validate

__all__ = [
    "HANDLERS",
    "SPECS",
    "SPECS_BY_NAME",
    "CommandContext",
    "CommandSpec",
    "Invoker",
    "Option",
    "reply_for_error",
    "run_command",
    "validate",
]
