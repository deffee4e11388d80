"""Chat never blocks the event loop: a report whose database answers slowly still acknowledges
within Discord's 3 s, and a heartbeat-like coroutine keeps ticking meanwhile.

The database is the test's real one (SQLite or PostgreSQL) behind an engine that waits before
its next statement, as a synchronous driver does while a slow query runs: the thread that runs
the statement blocks. On the event loop that stalls everything (gateway heartbeats included);
off it, nothing else notices."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.settings import BotConfig, SummarySchedule
from bot.summaries import post_summary
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.settings import DatabaseSettings
from tests.bot.discord_harness import CHANNEL_ID, Harness
from tests.bot.discord_setup import TimedWebhook, logged_in, with_discord

DEFERRED = 5
DISCORD_LIMIT_S = 3.0
SLOW_S = 3.5  # the report of issue 16: answered after Discord's limit


class SlowDatabase:
    """An engine whose next statement waits `delay_s` first (armed once per call to `slow`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._delay_s = 0.0
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._wait)

    def slow(self, delay_s: float) -> None:
        """Make the next statement take `delay_s` seconds longer."""
        with self._lock:
            self._delay_s = delay_s

    def _wait(self, *_args: Any) -> None:
        with self._lock:
            delay_s, self._delay_s = self._delay_s, 0.0
        time.sleep(delay_s)


@pytest.fixture
def slow_db(database: DatabaseSettings, engine: Engine) -> Iterator[SlowDatabase]:
    """The migrated test database through a second engine that can be made slow."""
    slow_engine = create_db_engine(database)
    yield SlowDatabase(slow_engine)
    slow_engine.dispose()


@pytest.fixture
async def harness(settings: BotConfig, slow_db: SlowDatabase) -> AsyncIterator[Harness]:
    sessions: SessionFactory = session_factory(slow_db.engine)
    async with logged_in(with_discord(settings), sessions) as h:
        yield h


async def heartbeat(ticks: list[float], stop: asyncio.Event) -> None:
    """Tick every 50 ms, as discord.py's gateway keep-alive needs the loop to."""
    while not stop.is_set():
        ticks.append(time.monotonic())
        await asyncio.sleep(0.05)
    ticks.append(time.monotonic())  # a stall just before the stop counts too


def longest_gap(ticks: list[float]) -> float:
    """The longest time between two heartbeat ticks, in seconds."""
    return max(later - earlier for earlier, later in itertools.pairwise(ticks))


async def invoke_with_heartbeat(
    harness: Harness, name: str, **options: Any
) -> tuple[list[Any], float, float]:
    """Run a command while a heartbeat ticks: its calls, its start time and the longest gap
    between two ticks."""
    ticks: list[float] = []
    stop = asyncio.Event()
    beating = asyncio.create_task(heartbeat(ticks, stop))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    calls = await harness.invoke(name, **options)
    stop.set()
    await beating
    return calls, started, longest_gap(ticks)


def sent_at(harness: Harness, calls: list[Any]) -> list[float]:
    """When each of `calls` was sent (the last len(calls) responses)."""
    assert isinstance(harness.webhook, TimedWebhook)
    return harness.webhook.sent_at[-len(calls) :]


async def test_a_slow_report_is_deferred_at_once_and_the_loop_keeps_ticking(
    harness: Harness, slow_db: SlowDatabase
) -> None:
    slow_db.slow(SLOW_S)
    calls, started, gap = await invoke_with_heartbeat(harness, "cost")
    times = sent_at(harness, calls)
    assert calls[0].body["type"] == DEFERRED
    assert times[0] - started < 1.0  # acknowledged long before Discord's limit
    assert "Cost" in calls[-1].text and times[-1] - started >= SLOW_S  # the slow answer came
    assert gap < 1.0, f"the event loop stalled for {gap:.2f}s"


async def test_a_quick_command_that_turns_slow_is_deferred_within_the_limit(
    harness: Harness, slow_db: SlowDatabase
) -> None:
    slow_db.slow(SLOW_S)  # /budget show is not marked slow: the 2 s timer must fire
    calls, started, gap = await invoke_with_heartbeat(harness, "budget show")
    times = sent_at(harness, calls)
    assert calls[0].body["type"] == DEFERRED
    assert harness.bot.defer_after_s <= times[0] - started < DISCORD_LIMIT_S
    assert "Budgets" in calls[-1].text
    assert gap < 1.0, f"the event loop stalled for {gap:.2f}s"


async def test_a_slow_support_answer_leaves_the_loop_free(
    harness: Harness, slow_db: SlowDatabase
) -> None:
    ticks: list[float] = []
    stop = asyncio.Event()
    beating = asyncio.create_task(heartbeat(ticks, stop))
    slow_db.slow(2.0)  # within the harness's 4 s wait for an answer
    [reply] = await harness.message("my card has not arrived")
    stop.set()
    await beating
    assert reply.path == "/channels/{channel_id}/messages"
    gap = longest_gap(ticks)
    assert gap < 1.0, f"the event loop stalled for {gap:.2f}s"


async def test_a_scheduled_summary_leaves_the_loop_free(
    harness: Harness, slow_db: SlowDatabase, settings: BotConfig
) -> None:
    ticks: list[float] = []
    stop = asyncio.Event()
    beating = asyncio.create_task(heartbeat(ticks, stop))
    await asyncio.sleep(0.1)
    slow_db.slow(2.0)
    posted = await post_summary(
        SummarySchedule(channel_id=CHANNEL_ID),
        poster=harness.bot.post,
        session_factory=session_factory(slow_db.engine),
        costing=settings.costing,
        now=harness.bot.deps.now(),
    )
    stop.set()
    await beating
    assert posted
    [summary] = [c for c in harness.http.calls if c.path == "/channels/{channel_id}/messages"]
    assert "Daily summary" in summary.text and summary.files[0][0] == "cost-per-day.png"
    gap = longest_gap(ticks)
    assert gap < 1.0, f"the event loop stalled for {gap:.2f}s"
