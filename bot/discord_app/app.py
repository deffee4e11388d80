"""The Discord bot: an AutoShardedBot built by a factory, with its dependencies passed in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import discord
import httpx
from discord.ext import commands

from bot.commands import SPECS_BY_NAME, CommandContext, Invoker, run_command
from bot.commands.context import SchedulerProbe
from bot.conversations import ConversationStore
from bot.discord_app.audit import post_audit
from bot.discord_app.guards import command_cooldowns, install_guard, support_cooldowns
from bot.discord_app.offloop import off_loop
from bot.discord_app.render import send_reply, send_to_channel
from bot.discord_app.sync import SyncMode, SyncRecord, sync_commands
from bot.errors import PostFailedError
from bot.replies import Reply, ReplyField
from bot.service_client import ModelServiceClient
from bot.settings import BotConfig, DiscordSettings
from bot.support import ReplyTemplates, load_templates
from storage.db import SessionFactory
from storage.tables import SupportOutcome
from storage.types import utc_now

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_app.cogs.errors",
    "bot.discord_app.cogs.classify",
    "bot.discord_app.cogs.costs",
    "bot.discord_app.cogs.outlook",
    "bot.discord_app.cogs.prices",
    "bot.discord_app.cogs.admin",
    "bot.discord_app.cogs.info",
    "bot.discord_app.cogs.support",
    "bot.discord_app.handoff",
)
DEFER_AFTER_S = 2.0  # Discord wants an answer within 3 s; defer well before that.


@dataclass(frozen=True)
class BotDeps:
    """What the bot needs from outside; built by the runner, fakes in tests."""

    session_factory: SessionFactory
    record: Callable[[SupportOutcome], None]
    now: Callable[[], datetime] = utc_now
    scheduler: SchedulerProbe | None = None
    templates: ReplyTemplates | None = None
    sync_record: Path | None = None  # where the last synced command set is kept


class CostBot(commands.AutoShardedBot):
    """costbot on Discord: slash commands in cogs, support-channel mode, summaries. Sharded
    (one gateway connection per shard); `discord.shard_ids` splits the shards over processes.
    Nothing it sends mentions anyone unless a message says so (`AllowedMentions.none()`)."""

    def __init__(
        self,
        settings: BotConfig,
        *,
        http_client: httpx.AsyncClient,
        deps: BotDeps,
        sync_commands: SyncMode = "changed",
        **options: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(settings),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **shard_options(settings.discord),
            **options,
        )
        self.settings = settings
        self.deps = deps
        self.sync_commands = sync_commands
        self.defer_after_s = DEFER_AFTER_S
        self.command_cooldowns = command_cooldowns(settings.discord.cooldown_s)
        self.support_cooldowns = support_cooldowns(
            settings.discord.support_rate, settings.discord.support_per_s
        )
        self.templates = deps.templates or load_templates()
        self.policy = settings.support.policy()
        self.conversations = ConversationStore(
            deps.session_factory,
            idle_timeout=settings.support.idle_timeout,
            handoff_idle_timeout=settings.support.handoff_idle_timeout,
        )
        self.service = ModelServiceClient(
            http_client, base_url=settings.service.url, timeout_s=settings.service.timeout_s
        )

    async def setup_hook(self) -> None:
        """Load the feature modules and guard every command, then sync slash commands (to the
        test guild or globally) when they changed or on request, from the process that runs
        shard 0 only; a refused sync is a warning, never fatal."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        install_guard(self.tree)
        shard_ids = self.settings.discord.shard_ids
        await sync_commands(
            self.tree,
            guild_id=self.settings.discord.sync_guild_id,
            mode=self.sync_commands if shard_ids is None or 0 in shard_ids else "never",
            record=SyncRecord(self.deps.sync_record),
        )

    def command_context(self, service: ModelServiceClient | None = None) -> CommandContext:
        """The command layer's context for this bot (another service client: one usable
        from a worker thread)."""
        return CommandContext(
            service=service or self.service,
            session_factory=self.deps.session_factory,
            costing=self.settings.costing,
            now=self.deps.now,
            scheduler=self.deps.scheduler,
        )

    async def respond(self, interaction: discord.Interaction, name: str, **options: Any) -> None:
        """Run a command off the event loop and send its reply. A slow command defers at once,
        any other once it takes `defer_after_s`; admin commands answer privately and leave an
        audit line."""
        spec = SPECS_BY_NAME.get(name)
        admin = spec is not None and spec.manage
        task = asyncio.ensure_future(self.run_off_loop(interaction, name, options))
        if spec is None or not spec.slow:
            await asyncio.wait({task}, timeout=self.defer_after_s)
        if not task.done():
            await interaction.response.defer(thinking=True, ephemeral=admin)
        reply = await task
        if admin:
            reply = replace(reply, ephemeral=True)
        await send_reply(interaction, discord_names(reply) if name == "help" else reply)
        if admin:
            await post_audit(self, interaction, command=name, reply=reply)

    async def run_off_loop(
        self, interaction: discord.Interaction, name: str, options: dict[str, Any]
    ) -> Reply:
        """The command's reply, computed in a worker thread (its SQL, charts and price
        look-ups block) so the gateway and other interactions are served meanwhile."""
        invoker = invoker_of(interaction)
        return await off_loop(
            lambda service: run_command(self.command_context(service), invoker, name, options),
            service=self.service,
        )

    async def post(self, channel_id: int, reply: Reply) -> int:
        """Post a reply in a channel (scheduled summaries, alerts); returns the message id."""
        try:
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise PostFailedError(f"channel {channel_id} cannot receive messages")
            return (await send_to_channel(channel, reply)).id
        except discord.HTTPException as error:
            raise PostFailedError(f"posting to {channel_id} failed: HTTP {error.status}") from None


def discord_names(reply: Reply) -> Reply:
    """/help with the names commands have on Discord: those that change settings sit in the
    /admin group."""
    renamed = {f"/{s.name}": f"/admin {s.name}" for s in SPECS_BY_NAME.values() if s.manage}

    def rename(field: ReplyField) -> ReplyField:
        for old, new in renamed.items():
            if field.name == old or field.name.startswith(old + " "):
                return replace(field, name=new + field.name[len(old) :])
        return field

    return replace(reply, fields=tuple(rename(f) for f in reply.fields))


def invoker_of(interaction: discord.Interaction) -> Invoker:
    """Who asked, with Manage Server taken from the interaction's resolved permissions."""
    return Invoker(
        kind="discord",
        user_id=str(interaction.user.id),
        display_name=interaction.user.name,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        can_manage=interaction.guild_id is not None and interaction.permissions.manage_guild,
    )


def shard_options(discord_settings: DiscordSettings) -> dict[str, Any]:
    """AutoShardedBot's shard_count/shard_ids, only those configured (none: Discord's count)."""
    options = {
        "shard_count": discord_settings.shard_count,
        "shard_ids": discord_settings.shard_ids,
    }
    return {name: value for name, value in options.items() if value is not None}


def bot_intents(settings: BotConfig) -> discord.Intents:
    """Slash commands need no privileged intent; support mode needs Message Content."""
    intents = discord.Intents.default()
    intents.message_content = bool(settings.discord.support_channel_ids)
    return intents


def build_bot(
    settings: BotConfig,
    *,
    http_client: httpx.AsyncClient,
    deps: BotDeps,
    sync_commands: SyncMode = "changed",
) -> CostBot:
    """The bot, ready to `start(token)`; nothing connects until then."""
    return CostBot(settings, http_client=http_client, deps=deps, sync_commands=sync_commands)
