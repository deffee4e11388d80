"""The bot's settings: Discord, the scheduled summaries, and what the bot is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from bot.policy import EscalationPolicy
from costing.identity import resolve_salt
from costing.settings import CostingSettings
from storage.settings import DatabaseSettings, Section


class SummarySchedule(Section):
    """One scheduled summary post."""

    channel_id: int
    kind: Literal["daily", "weekly"] = "daily"
    hour: int = Field(default=9, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)
    day_of_week: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"


class DiscordSettings(Section):
    """Discord wiring and the summary posts; the token is read from ``DISCORD_TOKEN`` only."""

    token: SecretStr | None = None
    sync_guild_id: int | None = None
    support_channel_ids: list[int] = Field(default_factory=list)
    # Per user and per command (discord.py's CooldownMapping; 0 turns it off).
    cooldown_s: float = Field(default=3.0, ge=0, le=3600)
    # Support-channel messages answered per author in a window; more are not classified.
    support_rate: int = Field(default=5, ge=1, le=100)
    support_per_s: float = Field(default=60.0, gt=0, le=3600)
    # Where admin commands leave a line saying who changed what (unset: no audit lines).
    audit_channel_id: int | None = None
    # Sharding (AutoShardedBot): the total shard count, and this process's shards when the
    # range is split across processes; both unset lets Discord choose and runs them all here.
    shard_count: int | None = Field(default=None, ge=1, le=10_000)
    shard_ids: list[int] | None = None
    user_hash_salt: SecretStr | None = None
    # Members with this role are the people who take over: their messages in support channels
    # are never classified or answered.
    agent_role_id: int | None = None
    # Where a handoff is posted when threads are not possible (or always, when set): the role
    # ping and the conversation so far. Unset: a thread on the customer's message.
    escalation_channel_id: int | None = None
    summaries: list[SummarySchedule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shards_are_valid(self) -> DiscordSettings:
        ids, count = self.shard_ids, self.shard_count
        if ids is None:
            return self
        if count is None:
            raise ValueError("discord.shard_ids needs discord.shard_count (the total, e.g. 4)")
        if not ids or len(set(ids)) != len(ids) or not all(0 <= i < count for i in ids):
            raise ValueError(
                f"discord.shard_ids must be distinct ids from 0 to {count - 1} "
                f"(discord.shard_count = {count}), e.g. [0, 1]; got {ids}"
            )
        return self

    def salt(self) -> str:
        """The user-hash salt as text ("" when none is configured)."""
        return self.user_hash_salt.get_secret_value() if self.user_hash_salt else ""


class SupportSettings(Section):
    """Support conversations and the handoff to people; the escalation policy file is read
    and checked when the settings are (an unknown intent or a bad threshold stops the start)."""

    # The escalation policy (TOML); the shipped bot/data/escalation_policy.toml when unset.
    policy_path: Path | None = None
    # A conversation with no message for this long is closed (and counts from then on).
    idle_timeout_min: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # A conversation waiting for a person is closed after this long with no event (a person
    # may take hours to answer; the bot stays quiet for that customer meanwhile).
    handoff_idle_timeout_min: int = Field(default=24 * 60, ge=1, le=14 * 24 * 60)

    @model_validator(mode="after")
    def _policy_is_valid(self) -> SupportSettings:
        self.policy()
        return self

    def policy(self) -> EscalationPolicy:
        """The escalation policy, checked against the 77 intents the templates answer."""
        from bot.support import load_support_policy

        return load_support_policy(self.policy_path)

    @property
    def idle_timeout(self) -> timedelta:
        """How long a conversation may sit idle before it is closed."""
        return timedelta(minutes=self.idle_timeout_min)

    @property
    def handoff_idle_timeout(self) -> timedelta:
        """How long a conversation waiting for a person may sit idle before it is closed."""
        return timedelta(minutes=self.handoff_idle_timeout_min)


@dataclass(frozen=True)
class ServiceEndpoint:
    """Where the bot reaches the model service (over HTTP only)."""

    url: str = "http://127.0.0.1:8765"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class BotConfig:
    """What the bot is built from: its own section and those it borrows."""

    database: DatabaseSettings
    service: ServiceEndpoint = field(default_factory=ServiceEndpoint)
    costing: CostingSettings = field(default_factory=CostingSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    support: SupportSettings = field(default_factory=SupportSettings)
    # The service's ``store_text``: only then does a handoff show the customers' words.
    store_text: bool = False

    def __post_init__(self) -> None:
        # One identity (costing.identity): with no salt configured, customers are hashed under
        # the install's salt beside the spool, the one the model service uses too.
        if self.discord.user_hash_salt is None:
            salt = resolve_salt(configured=None, directory=self.database.spool_path.parent)
            discord = self.discord.model_copy(update={"user_hash_salt": SecretStr(salt.decode())})
            object.__setattr__(self, "discord", discord)
