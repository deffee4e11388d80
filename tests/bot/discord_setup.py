"""Bots for the platform tests: settings with Discord options, a logged-in harness, and a
webhook recorder that notes when each response was sent."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx

from bot.discord_app.app import BotDeps
from bot.settings import BotConfig, DiscordSettings
from storage.db import SessionFactory
from tests.bot.discord_harness import (
    CHANNEL_ID,
    GUILD_ID,
    Harness,
    RecordingWebhook,
    start_harness,
)


def with_discord(settings: BotConfig, **options: Any) -> BotConfig:
    """Settings with the test guild synced, the test channel in support mode, no cooldown,
    and `options` on top."""
    values = {"sync_guild_id": GUILD_ID, "support_channel_ids": [CHANNEL_ID], "cooldown_s": 0}
    return replace(settings, discord=DiscordSettings(**{**values, **options}))


class TimedWebhook(RecordingWebhook):
    """Records interaction responses with the monotonic time each was sent (`sent_at`)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: list[float] = []

    async def request(self, route: Any, session: Any, **kwargs: Any) -> Any:
        self.sent_at.append(time.monotonic())
        return await super().request(route, session, **kwargs)


@asynccontextmanager
async def logged_in(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[Harness]:
    """A logged-in harness on `settings` (responses timed; support outcomes in
    `harness.records`); closed on exit."""
    records: list[Any] = []
    async with httpx.AsyncClient() as http:
        deps = BotDeps(session_factory=sessions, record=records.append, scheduler=lambda: None)
        harness = await start_harness(settings, http, deps=deps)
        harness.webhook = TimedWebhook()
        harness.records = records
        try:
            yield harness
        finally:
            await harness.bot.close()
