"""The Discord bot: a commands.Bot built by a factory, with its dependencies passed in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import discord
import httpx
from discord import app_commands
from discord.ext import commands

from bot.commands import CommandContext, Invoker, run_command
from bot.commands.context import SchedulerProbe
from bot.conversations import ConversationStore
from bot.cooldowns import UserCooldowns
from bot.discord_app.render import send_reply, send_to_channel
from bot.discord_app.sync import SyncMode, SyncRecord, sync_commands
from bot.errors import PostFailedError
from bot.replies import Reply, error_reply
from bot.service_client import ModelServiceClient
from bot.settings import BotConfig
from bot.support import ReplyTemplates, load_templates
from storage.db import SessionFactory
from storage.tables import SupportOutcome
from storage.types import utc_now

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_app.cogs.errors",
    "bot.discord_app.cogs.classify",
    "bot.discord_app.cogs.costs",
    "bot.discord_app.cogs.admin",
    "bot.discord_app.cogs.info",
    "bot.discord_app.cogs.support",
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


class CooldownTree(app_commands.CommandTree["CostBot"]):
    """The command tree with a per-user cooldown checked before every command (in our code,
    per bot instance, so it is configurable at run time and starts empty in every test)."""

    async def interaction_check(self, interaction: discord.Interaction[CostBot]) -> bool:
        """Refuse (with a private reply) a user who is still cooling down."""
        retry_after = interaction.client.cooldowns.hit(interaction.user.id)
        if retry_after > 0:
            await send_reply(
                interaction, error_reply(f"Slow down a little: try again in {retry_after:.0f}s.")
            )
            return False
        return True


class CostBot(commands.Bot):
    """costbot on Discord: slash commands in cogs, support-channel mode, summaries."""

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
            tree_cls=CooldownTree,
            intents=bot_intents(settings),
            help_command=None,
            **options,
        )
        self.settings = settings
        self.deps = deps
        self.sync_commands = sync_commands
        self.defer_after_s = DEFER_AFTER_S
        self.cooldowns = UserCooldowns(settings.discord.cooldown_s)
        self.templates = deps.templates or load_templates()
        self.policy = settings.support.policy()
        self.conversations = ConversationStore(
            deps.session_factory, idle_timeout=settings.support.idle_timeout
        )
        self.service = ModelServiceClient(
            http_client, base_url=settings.service.url, timeout_s=settings.service.timeout_s
        )

    async def setup_hook(self) -> None:
        """Load the feature modules, then sync slash commands (to the test guild or globally)
        when they changed or on request; a refused sync is a warning, never fatal."""
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await sync_commands(
            self.tree,
            guild_id=self.settings.discord.sync_guild_id,
            mode=self.sync_commands,
            record=SyncRecord(self.deps.sync_record),
        )

    def command_context(self) -> CommandContext:
        """The command layer's context for this bot."""
        return CommandContext(
            service=self.service,
            session_factory=self.deps.session_factory,
            costing=self.settings.costing,
            now=self.deps.now,
            scheduler=self.deps.scheduler,
        )

    async def respond(self, interaction: discord.Interaction, name: str, **options: Any) -> None:
        """Run a command for an interaction; defer if it takes long, then send the reply."""
        task = asyncio.ensure_future(
            run_command(self.command_context(), invoker_of(interaction), name, options)
        )
        done, _ = await asyncio.wait({task}, timeout=self.defer_after_s)
        if not done:
            await interaction.response.defer(thinking=True)
        await send_reply(interaction, await task)

    async def post(self, channel_id: int, reply: Reply) -> int:
        """Post a reply in a channel (scheduled summaries, alerts); returns the message id."""
        try:
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise PostFailedError(f"channel {channel_id} cannot receive messages")
            return (await send_to_channel(channel, reply)).id
        except discord.HTTPException as error:
            raise PostFailedError(f"posting to {channel_id} failed: HTTP {error.status}") from None


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
