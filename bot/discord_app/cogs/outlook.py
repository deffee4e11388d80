"""/forecast and /whatif: server figures, so in servers only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs._spec import Period, description, from_spec

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot


class OutlookCog(commands.Cog):
    """Where the money goes next, and what the same work would cost elsewhere."""

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @app_commands.command(name="forecast", description=description("forecast"))
    @app_commands.guild_only()
    @from_spec("forecast")
    async def forecast(self, interaction: discord.Interaction, period: str | None = None) -> None:
        await self.bot.respond(interaction, "forecast", period=period)

    @app_commands.command(name="whatif", description=description("whatif"))
    @app_commands.guild_only()
    @from_spec("whatif")
    async def whatif(self, interaction: discord.Interaction, period: Period | None = None) -> None:
        await self.bot.respond(interaction, "whatif", period=period)


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(OutlookCog(bot))
