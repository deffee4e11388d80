"""/cost, /roi, /report now, /budget show|set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands.spec import MAX_BUDGET, MAX_PERIOD_CHARS, MIN_BUDGET
from bot.discord_app.cogs._spec import description, from_spec

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

Period = app_commands.Range[str, 1, MAX_PERIOD_CHARS]


class CostsCog(commands.Cog):
    """What it costs, what it is worth, and what may be spent."""

    budget = app_commands.Group(name="budget", description="Monthly spending limits.")
    report = app_commands.Group(name="report", description="Cost and ROI summaries.")

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @app_commands.command(name="cost", description=description("cost"))
    @from_spec("cost")
    async def cost(
        self,
        interaction: discord.Interaction,
        period: Period | None = None,
        group_by: str | None = None,
    ) -> None:
        await self.bot.respond(interaction, "cost", period=period, group_by=group_by)

    @app_commands.command(name="roi", description=description("roi"))
    @from_spec("roi")
    async def roi(self, interaction: discord.Interaction, period: Period | None = None) -> None:
        await self.bot.respond(interaction, "roi", period=period)

    @report.command(name="now", description=description("report now"))
    async def report_now(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "report now")

    @budget.command(name="show", description=description("budget show"))
    async def budget_show(self, interaction: discord.Interaction) -> None:
        await self.bot.respond(interaction, "budget show")

    @budget.command(name="set", description=description("budget set"))
    @from_spec("budget set")
    async def budget_set(
        self,
        interaction: discord.Interaction,
        limit: app_commands.Range[float, MIN_BUDGET, MAX_BUDGET],
        scope: str | None = None,
        value: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await self.bot.respond(interaction, "budget set", limit=limit, scope=scope, value=value)


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(CostsCog(bot))
