"""Who may run a command where and how often: discord.py's own checks and cooldowns.

Every app command gets one check (`guard`), added when the bot loads its feature modules: a
command marked guild-only refuses direct messages (Discord hides it there, but an old client or
a user-installed app can still send one), and each user has a cooldown per command (so `/cost`
then `/roi` is fine). Failures raise discord.py's own errors, which the tree's error handler
turns into a private, friendly reply. Support-channel messages are rate-limited per author.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

Check = Any  # discord.py's check type is private


def command_key(interaction: discord.Interaction) -> tuple[int, str]:
    """The cooldown bucket of an interaction: one per user and command."""
    command = interaction.command
    return interaction.user.id, command.qualified_name if command else ""


def command_cooldowns(per_s: float) -> commands.CooldownMapping[discord.Interaction] | None:
    """One use per `per_s` seconds per user and command (None: no cooldown). Idle buckets
    are dropped by the mapping itself once their window has passed."""
    if per_s <= 0:
        return None
    return commands.CooldownMapping(app_commands.Cooldown(1, per_s), command_key)


def support_cooldowns(rate: int, per_s: float) -> commands.CooldownMapping[discord.Message]:
    """`rate` support messages per `per_s` seconds per author."""
    return commands.CooldownMapping.from_cooldown(rate, per_s, commands.BucketType.user)


def server_only() -> app_commands.AppCommandContext:
    """The contexts of a group whose figures are server data: servers only (no DMs, no
    group DMs); for a group, `guild_only=True` alone only sets the older `dm_permission`."""
    return app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False)


def server_group(name: str, description: str, **options: Any) -> app_commands.Group:
    """A slash-command group of server data: guild-only, in servers only; `options` go to
    app_commands.Group (e.g. default_permissions)."""
    return app_commands.Group(
        name=name,
        description=description,
        guild_only=True,
        allowed_contexts=server_only(),
        **options,
    )


def is_guild_only(command: object) -> bool:
    """Whether an app command (or the top-level group it sits in) is marked guild-only."""
    if not isinstance(command, app_commands.Command):
        return False
    top = command.root_parent or command
    return bool(top.guild_only)


async def guard(interaction: discord.Interaction[CostBot]) -> bool:
    """Refuse guild-only commands outside a server, then apply the user's cooldown.

    Raises NoPrivateMessage or CommandOnCooldown (answered by the tree's error handler)."""
    command = interaction.command
    if interaction.guild_id is None and is_guild_only(command):
        raise app_commands.NoPrivateMessage("This command works in a server only.")
    mapping = interaction.client.command_cooldowns
    bucket = mapping.get_bucket(interaction) if mapping is not None else None
    retry_after = bucket.update_rate_limit() if bucket is not None else None
    if bucket is not None and retry_after:
        raise app_commands.CommandOnCooldown(bucket, retry_after)
    return True


def install_guard(tree: app_commands.CommandTree[Any]) -> int:
    """Put `guard` first among every app command's checks (once); returns how many commands."""
    installed = 0
    for command in tree.walk_commands():
        if isinstance(command, app_commands.Command):
            if guard not in command.checks:
                command.checks.insert(0, guard)
            installed += 1
    return installed
