"""/forecast and /whatif: the command layer on a real database (SQLite and PostgreSQL), and the
slash commands through discord.py's own objects (tests/bot/discord_harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.commands import CommandContext, Invoker, run_command
from bot.discord_app.app import BotDeps
from bot.service_client import ModelServiceClient
from bot.settings import BotConfig, DiscordSettings
from storage.db import SessionFactory
from tests.bot.discord_harness import GUILD_ID, Harness, start_harness, within_limits
from tests.costing.conftest import three_weeks

CONSOLE = Invoker()


@pytest.fixture
async def ctx(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[CommandContext]:
    async with httpx.AsyncClient() as http:
        service = ModelServiceClient(http, base_url=settings.service.url, timeout_s=20)
        yield CommandContext(service=service, session_factory=sessions, costing=settings.costing)


async def test_forecast_and_whatif_replies_name_their_sources(
    ctx: CommandContext, engine: Engine
) -> None:
    three_weeks(engine)
    reply = await run_command(ctx, CONSOLE, "forecast", {})
    fields = {f.name: f.value for f in reply.fields}
    assert reply.title == "Forecast: month" and not reply.is_error
    assert "90% interval" in fields["projected cost"] and "backtest MAPE" in fields
    assert reply.file is not None and reply.file.data.startswith(b"\x89PNG")
    reply = await run_command(ctx, CONSOLE, "whatif", {"period": "week"})
    fields = {f.name: f.value for f in reply.fields}
    assert fields["this deployment"].endswith("per 1,000 messages (measured)")
    assert "(estimated)" in fields["hosted model (gpt-4o-mini)"]
    assert "break-even" in fields["GPU instance"]


async def test_bad_input_is_a_one_line_private_reply(ctx: CommandContext) -> None:
    reply = await run_command(ctx, CONSOLE, "forecast", {"period": "fortnight"})
    assert reply.is_error and "must be one of: month, 7d, 30d" in reply.text
    reply = await run_command(ctx, CONSOLE, "forecast", {})  # an empty database
    assert reply.is_error and reply.ephemeral and "at least 7 whole days" in reply.text
    reply = await run_command(ctx, CONSOLE, "whatif", {"period": "today"})
    assert reply.is_error and "no messages in this period" in reply.text
    assert "\n" not in reply.text


@pytest.fixture
async def harness(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[Harness]:
    discord = DiscordSettings(sync_guild_id=GUILD_ID, cooldown_s=0)
    async with httpx.AsyncClient() as http:
        deps = BotDeps(session_factory=sessions, record=lambda _: None, scheduler=lambda: None)
        harness = await start_harness(replace(settings, discord=discord), http, deps=deps)
        try:
            yield harness
        finally:
            await harness.bot.close()


def _answer(calls: list[Any]) -> Any:
    """The message a slow command answered with after its defer."""
    [call] = [c for c in calls[1:] if c.method == "POST"]
    assert within_limits(call)
    return call


def _embed(calls: list[Any]) -> dict[str, Any]:
    return dict(_answer(calls).embeds[0])


async def test_slash_forecast_and_whatif(harness: Harness, engine: Engine) -> None:
    three_weeks(engine)
    call = _answer(await harness.invoke("forecast", period="30d"))
    [(filename, data)] = call.files
    assert filename == "forecast.png" and data.startswith(b"\x89PNG")
    embed = dict(call.embeds[0])
    assert embed["title"] == "Forecast: 30d"
    assert any(f["name"] == "projected cost" for f in embed["fields"])
    embed = _embed(await harness.invoke("whatif", period="week"))
    assert [f["name"] for f in embed["fields"]][:2] == ["workload", "this deployment"]
