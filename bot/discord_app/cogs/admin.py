"""/prices show|set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands.spec import MAX_PRICE
from bot.discord_app.cogs._spec import description, from_spec

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot


class PricesCog(commands.Cog):
    """The versioned price sheet."""

    prices = app_commands.Group(name="prices", description="The prices costs are computed with.")

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @prices.command(name="show", description=description("prices show"))
    async def prices_show(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "prices show")

    @prices.command(name="set", description=description("prices set"))
    @from_spec("prices set")
    async def prices_set(
        self,
        interaction: discord.Interaction,
        key: str,
        value: app_commands.Range[float, 0.0, MAX_PRICE],
    ) -> None:
        await self.bot.respond(interaction, "prices set", key=key, value=value)


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(PricesCog(bot))
