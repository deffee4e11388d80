"""/classify."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands.spec import MAX_TEXT_CHARS
from bot.discord_app.cogs._spec import description, from_spec

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot


class ClassifyCog(commands.Cog):
    """Classify a message on request."""

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @app_commands.command(name="classify", description=description("classify"))
    @from_spec("classify")
    async def classify(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, MAX_TEXT_CHARS]
    ) -> None:
        await self.bot.respond(interaction, "classify", text=text)


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(ClassifyCog(bot))
