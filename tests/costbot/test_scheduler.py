"""The one scheduler, on a fake clock: the aggregation job, summaries at local times across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.settings import SummarySchedule
from costbot.scheduler import AGGREGATION_JOB, build_scheduler
from costing.budgets import make_scope, set_budget
from costing.jobs import run_job
from costing.settings import AggregationSettings, CostingSettings
from costing.units import Money
from storage.db import SessionFactory
from tests.bot.test_summaries import FakePoster
from tests.costing.conftest import insert_rows
from tests.costing.sums import raw_sums, rollup_sums
from tests.factories import inference_row

LONDON = ZoneInfo("Europe/London")
IN_LONDON = CostingSettings(aggregation=AggregationSettings(timezone="Europe/London"))


def test_the_job_runs_at_the_configured_interval_on_the_given_clock(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    insert_rows(engine, [inference_row(created_at=now - timedelta(minutes=3))])
    times = iter([now, now + timedelta(minutes=5)])
    costing = CostingSettings(aggregation=AggregationSettings(interval_s=42))
    scheduler = build_scheduler(
        session_factory=sessions, costing=costing, clock=lambda: next(times)
    )
    job = scheduler.get_job(AGGREGATION_JOB)
    assert job.trigger.interval == timedelta(seconds=42)
    job.func()
    job.func()
    assert rollup_sums(engine) == raw_sums(engine)
    assert [j.id for j in scheduler.get_jobs()] == [AGGREGATION_JOB]


def test_budgets_are_checked_after_aggregation(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    row = inference_row(created_at=now - timedelta(minutes=3))
    insert_rows(engine, [row])
    spent = row["cost_compute_pico"] + row["cost_energy_pico"]
    set_budget(sessions, scope=make_scope("all"), limit=Money(spent), now=now)
    run = run_job(sessions, now=now)
    assert [a.threshold_pct for a in run.alerts] == [80, 100]
    assert run_job(sessions, now=now + timedelta(minutes=5)).alerts == ()


def fire_times(
    summaries: list[SummarySchedule], start: datetime, end: datetime
) -> list[tuple[str, datetime]]:
    """When each summary job of the real scheduler fires between start and end."""
    scheduler = build_scheduler(
        session_factory=lambda: None,  # type: ignore[arg-type, return-value]
        costing=IN_LONDON,
        summaries=summaries,
        poster=FakePoster(),
    )
    times = []
    for job in scheduler.get_jobs():
        if not job.id.startswith("summary-"):
            continue
        moment = job.trigger.get_next_fire_time(None, start)
        while moment is not None and moment < end:
            times.append((job.id, moment))
            moment = job.trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return sorted(times, key=lambda item: item[1])


def test_summaries_fire_at_local_times_across_dst() -> None:
    daily = SummarySchedule(channel_id=1, kind="daily", hour=9, minute=30)
    weekly = SummarySchedule(channel_id=2, kind="weekly", hour=8, day_of_week="mon")
    # London moves from GMT to BST on Sunday 2026-03-29.
    start, end = datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    local = [
        (m.astimezone(LONDON).strftime("%a %d %H:%M"), m.astimezone(UTC).strftime("%H:%M"))
        for _, m in fire_times([daily, weekly], start, end)
    ]
    assert local == [
        ("Fri 27 09:30", "09:30"),
        ("Sat 28 09:30", "09:30"),
        ("Sun 29 09:30", "08:30"),
        ("Mon 30 08:00", "07:00"),
        ("Mon 30 09:30", "08:30"),
        ("Tue 31 09:30", "08:30"),
    ]
