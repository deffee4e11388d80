"""/admin budget set|delete, /admin prices set: the commands that change settings.

They live in one top-level group so Discord itself hides them from members without Manage
Server (`default_permissions`, which a server's admins may adjust per role) and outside
servers; the runtime check below still refuses anyone without it. Answers are private, and
each change leaves a line in the audit channel (see `CostBot.respond`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands.spec import MAX_BUDGET, MAX_PRICE, MIN_BUDGET
from bot.discord_app.cogs._spec import description, from_spec
from bot.discord_app.guards import server_group

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

MANAGE = discord.Permissions(manage_guild=True)
manage_guild = app_commands.checks.has_permissions(manage_guild=True)


class AdminCog(commands.Cog):
    """Budgets and prices, for members with Manage Server."""

    admin = server_group(
        "admin", "Change budgets and prices (Manage Server).", default_permissions=MANAGE
    )
    budget = app_commands.Group(name="budget", description="Monthly limits.", parent=admin)
    prices = app_commands.Group(name="prices", description="The price sheet.", parent=admin)

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot

    @budget.command(name="set", description=description("budget set"))
    @from_spec("budget set")
    @manage_guild
    async def budget_set(
        self,
        interaction: discord.Interaction,
        limit: app_commands.Range[float, MIN_BUDGET, MAX_BUDGET],
        scope: str | None = None,
        value: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await self.bot.respond(interaction, "budget set", limit=limit, scope=scope, value=value)

    @budget.command(name="delete", description=description("budget delete"))
    @from_spec("budget delete")
    @manage_guild
    async def budget_delete(
        self,
        interaction: discord.Interaction,
        scope: str,
        value: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await self.bot.respond(interaction, "budget delete", scope=scope, value=value)

    @prices.command(name="set", description=description("prices set"))
    @from_spec("prices set")
    @manage_guild
    async def prices_set(
        self,
        interaction: discord.Interaction,
        key: str,
        value: app_commands.Range[float, 0.0, MAX_PRICE],
    ) -> None:
        await self.bot.respond(interaction, "prices set", key=key, value=value)


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(AdminCog(bot))
