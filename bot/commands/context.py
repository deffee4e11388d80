"""What a command gets: its dependencies (context) and who asked (invoker)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.service_client import ModelServiceClient, Requester, SourceKind
from costing.settings import CostingSettings
from storage.db import SessionFactory
from storage.types import utc_now

SchedulerProbe = Callable[[], str | None]
"""Returns None when the scheduler runs, else why not."""

ReportPoster = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Invoker:
    """Who asked, from where; `can_manage` is Discord's Manage Server (the console has it)."""

    kind: SourceKind = "console"
    user_id: str | None = None
    display_name: str = "console"
    guild_id: int | None = None
    channel_id: int | None = None
    can_manage: bool = True

    def source(self, command: str) -> Requester:
        """The `source` the model service records for this invoker and command."""
        return Requester(
            kind=self.kind,
            command=command[:32],
            guild_id=self.guild_id,
            channel_id=self.channel_id,
            user=self.user_id,
        )


@dataclass(frozen=True)
class CommandContext:
    """The command layer's dependencies, passed in (nothing global)."""

    service: ModelServiceClient
    session_factory: SessionFactory
    costing: CostingSettings
    now: Callable[[], datetime] = utc_now
    scheduler: SchedulerProbe | None = None
