"""/prices show (changing a price is `/admin prices set`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_app.cogs._spec import description
from bot.discord_app.guards import server_group

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot


class PricesCog(commands.Cog):
    """The versioned price sheet."""

    prices = server_group("prices", "The prices costs are computed with.")

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @prices.command(name="show", description=description("prices show"))
    async def prices_show(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "prices show")


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(PricesCog(bot))
