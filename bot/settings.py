"""The bot's settings: Discord, the scheduled summaries, and what the bot is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, SecretStr

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
    cooldown_s: float = Field(default=3.0, ge=0, le=3600)
    user_hash_salt: SecretStr | None = None
    summaries: list[SummarySchedule] = Field(default_factory=list)

    def salt(self) -> str:
        """The user-hash salt as text ("" when none is configured)."""
        return self.user_hash_salt.get_secret_value() if self.user_hash_salt else ""


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
