"""The one error handler: every app-command error becomes a friendly, private reply."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import reply_for_error
from bot.discord_app.render import send_reply
from bot.replies import Reply, error_reply

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

log = logging.getLogger(__name__)
PERMISSION_NAMES = {"manage_guild": "Manage Server"}  # as Discord's own settings call it


def reply_for_app_error(error: app_commands.AppCommandError) -> Reply:
    """The friendly reply for an error raised while running a slash command."""
    if isinstance(error, app_commands.CommandOnCooldown):
        return error_reply(f"Slow down a little: try again in {error.retry_after:.0f}s.")
    if isinstance(error, app_commands.NoPrivateMessage):
        return error_reply(
            "This command works in a server only (its figures are the server's): "
            "run it in a channel of the server."
        )
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(PERMISSION_NAMES.get(p, p) for p in error.missing_permissions)
        return error_reply(f"This command needs the {needed} permission: ask a server admin.")
    if isinstance(error, app_commands.CheckFailure):
        return error_reply("You don't have permission to use this command here.")
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    known = reply_for_error(original)
    if known is not None:
        return known
    log.error("command failed", exc_info=(type(original), original, original.__traceback__))
    return error_reply(
        "Something went wrong on our side; it has been logged. "
        "Try again, or run `/health` to see what is down."
    )


class ErrorsCog(commands.Cog):
    """Installs the tree's error handler while loaded."""

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot
        self._previous = bot.tree.on_error

    async def cog_load(self) -> None:
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Answer the user; never show a traceback."""
        await send_reply(interaction, reply_for_app_error(error))


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(ErrorsCog(bot))
