"""Scheduled work survives restarts: what fell due while nothing ran is posted once at start."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlmodel import Session

from bot.settings import SummarySchedule
from costbot.scheduler import build_scheduler, missed_fire, summary_trigger
from costing.budgets import check_budgets, make_scope, set_budget
from costing.settings import AggregationSettings, CostingSettings
from costing.units import Money
from storage.db import SessionFactory
from storage.tables import InferenceRecord
from tests.bot.test_summaries import FakePoster
from tests.factories import inference_row

LONDON = CostingSettings(aggregation=AggregationSettings(timezone="Europe/London"))
DAILY = SummarySchedule(channel_id=7, kind="daily", hour=9)
WEEKLY = SummarySchedule(channel_id=8, kind="weekly", hour=8, minute=45, day_of_week="mon")
# Monday 2026-03-30 is in BST: 09:00 London is 08:00 UTC.
NINE_LONDON = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


async def start_at(
    sessions: SessionFactory, now: datetime, *summaries: SummarySchedule
) -> FakePoster:
    """Build and start the real scheduler as `costbot up` would at `now`; let due jobs run."""
    poster = FakePoster()
    scheduler = build_scheduler(
        session_factory=sessions,
        costing=LONDON,
        summaries=summaries or (DAILY,),
        poster=poster,
        clock=lambda: now,
        retry_delay_s=0.01,
    )
    catch_ups = {job.id for job in scheduler.get_jobs() if job.id.startswith("catch-up-")}
    finished: set[str] = set()
    scheduler.add_listener(
        lambda event: finished.add(event.job_id), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
    )
    scheduler.start()
    try:
        for tick in range(250):
            await asyncio.sleep(0.02)
            if catch_ups and catch_ups <= finished:  # every catch-up ran (at most 5 s)
                break
            if not catch_ups and (poster.posts or tick >= 100):  # none due: a post, or 2 s
                break
        await asyncio.sleep(0.1)
    finally:
        scheduler.shutdown(wait=False)
    return poster


async def test_a_summary_due_while_stopped_is_posted_at_start(sessions: SessionFactory) -> None:
    poster = await start_at(sessions, NINE_LONDON + timedelta(minutes=1))
    assert [(c, r.title) for c, r in poster.posts] == [(7, "Daily summary: 2026-03-29")]


async def test_it_is_posted_once_across_further_restarts(sessions: SessionFactory) -> None:
    first = await start_at(sessions, NINE_LONDON + timedelta(minutes=1))
    second = await start_at(sessions, NINE_LONDON + timedelta(minutes=2))
    assert (len(first.posts), second.posts) == (1, [])


async def test_a_summary_posted_before_the_restart_is_not_posted_again(
    sessions: SessionFactory,
) -> None:
    on_time = await start_at(sessions, NINE_LONDON + timedelta(seconds=30))
    after = await start_at(sessions, NINE_LONDON + timedelta(minutes=59))
    assert (len(on_time.posts), after.posts) == (1, [])


async def test_nothing_is_caught_up_past_the_grace_time_or_before_it_is_due(
    sessions: SessionFactory,
) -> None:
    late = await start_at(sessions, NINE_LONDON + timedelta(hours=1, minutes=1))
    early = await start_at(sessions, NINE_LONDON - timedelta(minutes=1))
    assert (late.posts, early.posts) == ([], [])


async def test_weekly_and_daily_are_both_caught_up_for_their_own_periods(
    sessions: SessionFactory,
) -> None:
    poster = await start_at(sessions, NINE_LONDON + timedelta(minutes=30), DAILY, WEEKLY)
    assert sorted((c, r.title) for c, r in poster.posts) == [
        (7, "Daily summary: 2026-03-29"),
        (8, "Weekly summary: 2026-03-23..2026-03-29"),
    ]


async def test_a_summary_due_just_before_midnight_covers_its_own_day(
    sessions: SessionFactory,
) -> None:
    late_evening = SummarySchedule(channel_id=9, kind="daily", hour=23, minute=30)
    restart = datetime(2026, 3, 30, 23, 10, tzinfo=UTC)  # 00:10 London on the 31st
    poster = await start_at(sessions, restart, late_evening)
    assert [r.title for _, r in poster.posts] == ["Daily summary: 2026-03-29"]


def test_missed_fire_is_the_latest_fire_within_the_grace_time() -> None:
    trigger = summary_trigger(DAILY, "Europe/London")
    assert missed_fire(trigger, now=NINE_LONDON + timedelta(minutes=1)) == NINE_LONDON
    assert missed_fire(trigger, now=NINE_LONDON) == NINE_LONDON
    assert missed_fire(trigger, now=NINE_LONDON + timedelta(hours=2)) is None


async def test_alerts_raised_while_stopped_are_posted_at_start_not_a_minute_later(
    sessions: SessionFactory,
) -> None:
    now = NINE_LONDON
    set_budget(sessions, scope=make_scope("all"), limit=Money.from_decimal("0.000000001"), now=now)
    with Session(sessions().get_bind()) as session:
        session.add(InferenceRecord(**inference_row(created_at=now - timedelta(hours=1))))
        session.commit()
    check_budgets(sessions, now=now, timezone="Europe/London")
    poster = await start_at(sessions, now - timedelta(hours=3))
    assert [r.title for _, r in poster.posts] == [
        "Budget alert: all at 80%",
        "Budget alert: all at 100%",
    ]
