"""Scheduled summaries with a fake clock: local times across DST, no duplicate after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot.replies import Reply
from bot.scheduling import build_scheduler, post_alerts, post_summary, with_retries
from costing.budgets import check_budgets, make_scope, set_budget
from costing.units import Money
from storage.db import SessionFactory
from storage.settings import ScheduleSettings, Settings, SummarySchedule
from storage.tables import ScheduledPost

LONDON = ZoneInfo("Europe/London")


class FakePoster:
    """Records posts; can be told to fail the next N posts."""

    def __init__(self, failures: int = 0) -> None:
        self.posts: list[tuple[int, Reply]] = []
        self.failures = failures

    async def __call__(self, channel_id: int, reply: Reply) -> int:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("discord is down")
        self.posts.append((channel_id, reply))
        return len(self.posts)


def _settings(*summaries: SummarySchedule) -> Settings:
    return Settings(schedule=ScheduleSettings(timezone="Europe/London", summaries=list(summaries)))


def _fire_times(settings: Settings, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    """When each job of the real scheduler fires between start and end (the fake clock)."""
    scheduler = build_scheduler(settings, poster=FakePoster(), session_factory=lambda: None)  # type: ignore[arg-type, return-value]
    times = []
    for job in scheduler.get_jobs():
        if not job.id.startswith("summary-"):
            continue
        moment = job.trigger.get_next_fire_time(None, start)
        while moment is not None and moment < end:
            times.append((job.id, moment))
            moment = job.trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return sorted(times, key=lambda item: item[1])


async def test_daily_and_weekly_posts_at_local_times_across_dst(sessions: SessionFactory) -> None:
    daily = SummarySchedule(channel_id=1, kind="daily", hour=9, minute=30)
    weekly = SummarySchedule(channel_id=2, kind="weekly", hour=8, day_of_week="mon")
    settings = _settings(daily, weekly)
    # London moves from GMT to BST on Sunday 2026-03-29.
    start, end = datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    fires = _fire_times(settings, start, end)
    poster = FakePoster()
    for _, moment in fires:
        job = weekly if moment.astimezone(LONDON).hour == 8 else daily
        assert await post_summary(
            job, poster=poster, session_factory=sessions, settings=settings, now=moment
        )
    local = [
        (m.astimezone(LONDON).strftime("%a %d %H:%M"), m.astimezone(UTC).strftime("%H:%M"))
        for _, m in fires
    ]
    assert local == [
        ("Fri 27 09:30", "09:30"),
        ("Sat 28 09:30", "09:30"),
        ("Sun 29 09:30", "08:30"),
        ("Mon 30 08:00", "07:00"),
        ("Mon 30 09:30", "08:30"),
        ("Tue 31 09:30", "08:30"),
    ]
    titles = [(channel, reply.title) for channel, reply in poster.posts]
    assert titles == [
        (1, "Daily summary: 2026-03-26"),
        (1, "Daily summary: 2026-03-27"),
        (1, "Daily summary: 2026-03-28"),
        (2, "Weekly summary: 2026-03-23..2026-03-29"),
        (1, "Daily summary: 2026-03-29"),
        (1, "Daily summary: 2026-03-30"),
    ]
    assert all(reply.file is not None for _, reply in poster.posts)


async def test_restart_never_posts_the_same_summary_twice(sessions: SessionFactory) -> None:
    daily = SummarySchedule(channel_id=1, kind="daily", hour=9)
    settings = _settings(daily)
    now = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    first, after_restart = FakePoster(), FakePoster()
    assert await post_summary(
        daily, poster=first, session_factory=sessions, settings=settings, now=now
    )
    assert not await post_summary(
        daily,
        poster=after_restart,
        session_factory=sessions,
        settings=settings,
        now=now + timedelta(minutes=5),
    )
    assert (len(first.posts), after_restart.posts) == (1, [])
    with Session(sessions().get_bind()) as session:
        [row] = session.exec(select(ScheduledPost)).all()
    assert (row.period_key, row.message_id) == ("2026-03-29", 1)


async def test_failed_post_is_logged_and_retried(
    sessions: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    daily = SummarySchedule(channel_id=1, kind="daily", hour=9)
    settings = _settings(daily)
    poster = FakePoster(failures=2)
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    ok = await with_retries(
        lambda: post_summary(
            daily,
            poster=poster,
            session_factory=sessions,
            settings=settings,
            now=datetime(2026, 3, 30, 8, tzinfo=UTC),
        ),
        name="daily",
        delay_s=10,
        sleep=fake_sleep,
    )
    assert ok and len(poster.posts) == 1 and waits == [10, 20]
    assert caplog.text.count("job daily failed") == 2


async def test_budget_alerts_are_posted_once(sessions: SessionFactory) -> None:
    now = datetime(2026, 3, 30, 8, tzinfo=UTC)
    set_budget(sessions, scope=make_scope("all"), limit=Money.from_decimal("0.000000001"), now=now)
    from storage.tables import InferenceRecord
    from tests.factories import inference_row

    with Session(sessions().get_bind()) as session:
        session.add(InferenceRecord(**inference_row(created_at=now - timedelta(hours=1))))
        session.commit()
    assert len(check_budgets(sessions, now=now, timezone="Europe/London")) == 2
    poster = FakePoster()
    assert await post_alerts(poster=poster, session_factory=sessions, channel_ids=[5], now=now) == 2
    assert await post_alerts(poster=poster, session_factory=sessions, channel_ids=[5], now=now) == 0
    assert [r.title for _, r in poster.posts] == [
        "Budget alert: all at 80%",
        "Budget alert: all at 100%",
    ]
