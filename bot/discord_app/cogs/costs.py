"""/cost, /roi, /report now, /budget show: server figures, so in servers only (changing a
budget is `/admin budget set|delete`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs._spec import Period, description, from_spec
from bot.discord_app.guards import server_group

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot


class CostsCog(commands.Cog):
    """What it costs, what it is worth, and what may be spent."""

    budget = server_group("budget", "Monthly spending limits.")
    report = server_group("report", "Cost and ROI summaries.")

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @app_commands.command(name="cost", description=description("cost"))
    @app_commands.guild_only()
    @from_spec("cost")
    async def cost(
        self,
        interaction: discord.Interaction,
        period: Period | None = None,
        group_by: str | None = None,
    ) -> None:
        await self.bot.respond(interaction, "cost", period=period, group_by=group_by)

    @app_commands.command(name="roi", description=description("roi"))
    @app_commands.guild_only()
    @from_spec("roi")
    async def roi(self, interaction: discord.Interaction, period: Period | None = None) -> None:
        await self.bot.respond(interaction, "roi", period=period)

    @report.command(name="now", description=description("report now"))
    async def report_now(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "report now")

    @budget.command(name="show", description=description("budget show"))
    async def budget_show(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "budget show")


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(CostsCog(bot))
