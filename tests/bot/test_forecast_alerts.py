"""Predictive budget alerts and spike alerts: each posted exactly once per channel, the predictive
one re-armed when the limit changes; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from bot.forecast_alerts import post_forecast_alerts
from bot.replies import Reply
from costing.budgets import make_scope, set_budget
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory
from tests.costing.conftest import insert_rows
from tests.factories import at, inference_row

NOW = at("2026-03-18T12:00")  # a Wednesday
CHANNELS = [101, 202]
UNIT = 10**12  # one currency unit in pico


class Channels:
    """A poster that keeps what it was asked to post (the job's own Poster interface)."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, Reply]] = []

    async def __call__(self, channel_id: int, reply: Reply) -> int:
        self.posts.append((channel_id, reply))
        return len(self.posts)


def _steady(engine: Engine, *, days: int, per_day: float = 1.0) -> None:
    """One record a day at 06:00 for `days` days before NOW, costing about `per_day`."""
    rows = []
    for back in range(1, days + 1):
        wobble = 1 + (back % 3 - 1) * 0.05  # 0.95, 1.0, 1.05: a MAD of 0.05
        moment = (NOW - timedelta(days=back)).replace(hour=6)
        pico = int(per_day * wobble * UNIT)
        rows.append(inference_row(created_at=moment, cost_compute_pico=pico, cost_energy_pico=0))
    insert_rows(engine, rows)


async def _run(sessions: SessionFactory, channels: Channels, now: datetime = NOW) -> int:
    return await post_forecast_alerts(
        poster=channels,
        session_factory=sessions,
        costing=CostingSettings(),
        channel_ids=CHANNELS,
        now=now,
    )


async def test_spike_is_posted_once_per_channel_naming_its_driver(
    engine: Engine, sessions: SessionFactory
) -> None:
    _steady(engine, days=28)
    loop = [
        inference_row(
            created_at=NOW - timedelta(minutes=m),
            command="loop",
            channel_id=555,
            cost_compute_pico=UNIT // 10,
            cost_energy_pico=0,
        )
        for m in range(1, 51)
    ]  # 5 units this morning, against a median of 1 + 5 × 0.05
    insert_rows(engine, loop)
    channels = Channels()
    assert await _run(sessions, channels) == 2
    assert await _run(sessions, channels, NOW + timedelta(minutes=5)) == 0
    assert sorted(c for c, _ in channels.posts) == CHANNELS
    reply = channels.posts[0][1]
    assert reply.title == "Spend spike: 5.00 USD on 2026-03-18 so far"
    assert "median 1.00 USD + 5 × MAD 0.05 USD = 1.25 USD" in reply.text
    assert "command loop: 5.00 USD" in reply.text and "channel 555" in reply.text


async def test_a_steady_history_raises_no_spike(engine: Engine, sessions: SessionFactory) -> None:
    _steady(engine, days=28)
    channels = Channels()
    assert await _run(sessions, channels) == 0


async def test_predictive_alert_once_and_re_armed_by_a_limit_change(
    engine: Engine, sessions: SessionFactory
) -> None:
    _steady(engine, days=28)  # about 1 a day: 17 spent by the 18th, about 31 by the 31st
    scope = make_scope("all")
    set_budget(sessions, scope=scope, limit=Money.from_decimal("25"), now=NOW)
    channels = Channels()
    assert await _run(sessions, channels) == 2
    assert await _run(sessions, channels) == 0
    title = channels.posts[0][1].title
    assert title.startswith("Budget forecast: all projected to exceed on 2026-03-2")
    set_budget(sessions, scope=scope, limit=Money.from_decimal("28"), now=NOW)
    assert await _run(sessions, channels) == 2  # a new limit: a new alert
    assert await _run(sessions, channels) == 0
    set_budget(sessions, scope=scope, limit=Money.from_decimal("100"), now=NOW)
    assert await _run(sessions, channels) == 0  # not projected to run out


async def test_the_scheduler_runs_the_forecast_alerts_at_the_configured_interval(
    engine: Engine, sessions: SessionFactory
) -> None:
    from bot.settings import SummarySchedule
    from costbot.scheduler import build_scheduler
    from costing.settings import ForecastSettings

    _steady(engine, days=28)
    set_budget(sessions, scope=make_scope("all"), limit=Money.from_decimal("25"), now=NOW)
    channels = Channels()
    scheduler = build_scheduler(
        session_factory=sessions,
        costing=CostingSettings(forecast=ForecastSettings(check_interval_s=600)),
        summaries=[SummarySchedule(channel_id=7, kind="daily", hour=9)],
        poster=channels,
        clock=lambda: NOW,
    )
    job = scheduler.get_job("forecast-alerts")
    assert job.trigger.interval == timedelta(seconds=600)
    await job.func()
    await job.func()
    assert [c for c, r in channels.posts if r.title.startswith("Budget forecast")] == [7]
