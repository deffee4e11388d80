"""Discord faults are contained, through discord.py's own objects (tests/bot/discord_harness.py):
a refused or rate-limited command sync, a slow failing service after the public defer, internal
addresses, and messages with nothing to read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import httpx
import pytest
from discord.http import Route
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot.discord_app.app import BotDeps, build_bot
from bot.settings import BotConfig, ServiceEndpoint
from storage.db import SessionFactory
from storage.tables import SupportOutcome
from tests.bot.discord_harness import (
    GUILD_ID,
    Call,
    Harness,
    RecordingHTTP,
    RecordingWebhook,
)
from tests.bot.discord_setup import with_discord
from tests.loopback import running

DEFERRED, MESSAGE = 5, 4
COMMANDS_PATH = "/applications/{application_id}/guilds/{guild_id}/commands"


def http_error(kind: type[discord.HTTPException], status: int, code: int, text: str) -> Any:
    response = SimpleNamespace(status=status, reason=text)
    return kind(response, {"code": code, "message": text})  # type: ignore[arg-type]


class RefusingHTTP(RecordingHTTP):
    """Discord's REST API where the command sync (a PUT of the command list) is refused."""

    def __init__(self, error: Exception | None) -> None:
        super().__init__()
        self.error = error

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if route.method == "PUT" and route.path.endswith("/commands") and self.error is not None:
            self.calls.append(Call(route.method, route.path, {}, {}, ()))
            raise self.error
        return await super().request(route, **kwargs)


async def login(
    settings: BotConfig,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
    *,
    refuse: Exception | None = None,
    sync_record: Path | None = None,
    sync_mode: str = "changed",
) -> Harness:
    """Build and log in the bot (setup_hook syncs) with a REST recorder that may refuse syncs."""
    records: list[SupportOutcome] = []
    deps = BotDeps(
        session_factory=sessions,
        record=records.append,
        scheduler=lambda: None,
        sync_record=sync_record,
    )
    bot = build_bot(settings, http_client=http, deps=deps, sync_commands=sync_mode)  # type: ignore[arg-type]
    recorder = RefusingHTTP(refuse)
    recorder.install(bot.http)
    await bot.login("test-token")
    return Harness(bot, recorder, RecordingWebhook(), records)


def syncs(harness: Harness) -> list[str]:
    return [c.path for c in harness.http.calls if c.method == "PUT" and "commands" in c.path]


REFUSALS = [
    pytest.param(
        http_error(discord.Forbidden, 403, 50001, "Missing Access"),
        "applications.commands",
        id="403-missing-access",
    ),
    pytest.param(
        http_error(discord.HTTPException, 429, 0, "rate limited"), "rate-limited", id="429"
    ),
    pytest.param(discord.RateLimited(3600.0), "rate-limited", id="rate-limited"),
    pytest.param(
        http_error(discord.NotFound, 404, 10004, "Unknown Guild"), "member", id="unknown-guild"
    ),
    pytest.param(
        http_error(discord.DiscordServerError, 500, 0, "Internal"), "HTTP 500", id="discord-500"
    ),
]


@pytest.mark.parametrize(("error", "cause"), REFUSALS)
async def test_a_refused_sync_is_one_warning_and_the_bot_runs_on(
    settings: BotConfig,
    sessions: SessionFactory,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    cause: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.discord_app")
    async with httpx.AsyncClient() as http:
        harness = await login(with_discord(settings), sessions, http, refuse=error)
        try:
            warnings = [r for r in caplog.records if r.name.startswith("bot.")]
            assert len(warnings) == 1 and cause in warnings[0].getMessage()
            assert not [r for r in caplog.records if r.exc_info]
            # support-channel mode still works
            [reply] = await harness.message("my card has not arrived")
            assert reply.path == "/channels/{channel_id}/messages"
            assert len(harness.records) == 1
        finally:
            await harness.bot.close()


class HangingHTTP(RecordingHTTP):
    """Discord's REST API sleeping through a long rate limit on the command sync."""

    async def request(self, route: Route, **kwargs: Any) -> Any:
        if route.method == "PUT" and route.path.endswith("/commands"):
            await asyncio.sleep(3600)
        return await super().request(route, **kwargs)


async def test_a_sync_held_up_by_a_long_rate_limit_does_not_hold_up_the_bot(
    settings: BotConfig,
    sessions: SessionFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.discord_app.sync.SYNC_TIMEOUT_S", 0.2)
    caplog.set_level(logging.WARNING, logger="bot.discord_app")
    async with httpx.AsyncClient() as http:
        deps = BotDeps(session_factory=sessions, record=lambda _: None, scheduler=lambda: None)
        bot = build_bot(with_discord(settings), http_client=http, deps=deps)
        HangingHTTP().install(bot.http)
        await asyncio.wait_for(bot.login("test-token"), 10)
        await bot.close()
    [warning] = [r for r in caplog.records if r.name.startswith("bot.")]
    assert "rate-limited" in warning.getMessage()


async def test_sync_only_when_the_command_set_changed_or_on_request(
    settings: BotConfig, sessions: SessionFactory, tmp_path: Path
) -> None:
    record = tmp_path / "commands.json"
    config = with_discord(settings)
    async with httpx.AsyncClient() as http:
        counts = []
        for mode in ("changed", "changed", "always", "never"):
            harness = await login(config, sessions, http, sync_record=record, sync_mode=mode)
            counts.append(len(syncs(harness)))
            await harness.bot.close()
        assert counts == [1, 0, 1, 0]
        other_guild = with_discord(settings, sync_guild_id=GUILD_ID + 1)
        harness = await login(other_guild, sessions, http, sync_record=record)
        assert len(syncs(harness)) == 1  # another target: its own record
        await harness.bot.close()


async def test_a_refused_sync_is_tried_again_at_the_next_start(
    settings: BotConfig, sessions: SessionFactory, tmp_path: Path
) -> None:
    record = tmp_path / "commands.json"
    refused = http_error(discord.Forbidden, 403, 50001, "Missing Access")
    async with httpx.AsyncClient() as http:
        first = await login(
            with_discord(settings), sessions, http, refuse=refused, sync_record=record
        )
        await first.bot.close()
        second = await login(with_discord(settings), sessions, http, sync_record=record)
        await second.bot.close()
    assert (len(syncs(first)), len(syncs(second))) == (1, 1)


@pytest.fixture
def slow_failing_service() -> Iterator[str]:
    """A model service that answers 503 only after the bot has deferred publicly."""
    app = FastAPI()

    @app.get("/healthz")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def overloaded(path: str) -> JSONResponse:
        await asyncio.sleep(0.3)
        body = {"detail": "model failed to load: /srv/costbot/models at 10.0.0.7", "code": "x"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    with running(app, ready=False) as url:
        yield url


@pytest.fixture
async def slow_harness(
    settings: BotConfig, sessions: SessionFactory, slow_failing_service: str
) -> AsyncIterator[Harness]:
    config = replace(with_discord(settings), service=ServiceEndpoint(slow_failing_service, 5))
    async with httpx.AsyncClient() as http:
        harness = await login(config, sessions, http)
        harness.bot.defer_after_s = 0.05
        try:
            yield harness
        finally:
            await harness.bot.close()


def assert_private_and_internal_free(calls: list[Any], url: str) -> None:
    """The public placeholder is removed before the private answer; no address is shown."""
    assert calls[0].body.get("type") == DEFERRED and not calls[0].ephemeral
    deletes = [i for i, c in enumerate(calls) if c.method == "DELETE"]
    sends = [i for i, c in enumerate(calls) if c.method == "POST" and "/callback" not in c.path]
    assert deletes and sends and deletes[0] < sends[0]
    assert "@original" in calls[deletes[0]].path or calls[deletes[0]].path.endswith("}")
    for index in sends:
        assert calls[index].ephemeral
    shown = "\n".join(c.text for c in calls)
    host = url.split("//")[1]
    for internal in (url, host, host.split(":")[0], "10.0.0.7", "/srv/costbot"):
        assert internal not in shown


@pytest.mark.parametrize("command", ["classify", "models"])
async def test_a_private_error_after_the_public_defer_stays_private(
    slow_harness: Harness, slow_failing_service: str, command: str
) -> None:
    options = {"text": "my card has not arrived"} if command == "classify" else {}
    calls = await slow_harness.invoke(command, **options)
    assert_private_and_internal_free(calls, slow_failing_service)
    assert "Try again" in "\n".join(c.text for c in calls)


async def test_a_public_answer_after_the_defer_is_not_deleted(harness_fast: Harness) -> None:
    harness_fast.bot.defer_after_s = 0.0
    calls = await harness_fast.invoke("classify", text="where is my new card")
    assert calls[0].body.get("type") == DEFERRED
    assert not [c for c in calls if c.method == "DELETE"]
    assert "Classification" in calls[-1].text and not calls[-1].ephemeral


@pytest.fixture
async def harness_fast(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[Harness]:
    async with httpx.AsyncClient() as http:
        harness = await login(with_discord(settings), sessions, http)
        try:
            yield harness
        finally:
            await harness.bot.close()


async def test_no_internal_address_when_the_service_is_down(
    settings: BotConfig, sessions: SessionFactory, unused_url: str
) -> None:
    config = replace(with_discord(settings), service=ServiceEndpoint(url=unused_url))
    async with httpx.AsyncClient() as http:
        harness = await login(config, sessions, http)
        try:
            for command in ("classify", "health", "models"):
                options = {"text": "hello"} if command == "classify" else {}
                calls = await harness.invoke(command, **options)
                shown = "\n".join(c.text for c in calls)
                assert "127.0.0.1" not in shown and unused_url not in shown, shown
        finally:
            await harness.bot.close()


async def test_health_does_not_show_the_service_address(harness_fast: Harness) -> None:
    calls = await harness_fast.invoke("health")
    shown = "\n".join(c.text for c in calls)
    assert "model service: ok" in shown and "127.0.0.1" not in shown


INVISIBLE = ["\u200b", "\u2060\ufeff \u3000\u202e\u00ad\n"]


async def test_a_message_with_nothing_to_read_is_ignored(harness_fast: Harness) -> None:
    for text in INVISIBLE:
        assert await harness_fast.message(text) == []
    assert harness_fast.records == []
    [reply] = await harness_fast.message("\u200bmy card has not arrived\u200b")
    assert reply.path == "/channels/{channel_id}/messages" and len(harness_fast.records) == 1
