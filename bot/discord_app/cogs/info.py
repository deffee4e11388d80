"""/models, /health, /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs._spec import description

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot


class InfoCog(commands.Cog):
    """What runs, and how it is doing."""

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @app_commands.command(name="models", description=description("models"))
    @app_commands.guild_only()
    async def models(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "models")

    @app_commands.command(name="health", description=description("health"))
    @app_commands.guild_only()
    async def health(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "health")

    @app_commands.command(name="help", description=description("help"))
    async def help(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "help")


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(InfoCog(bot))
