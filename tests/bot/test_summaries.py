"""Summary and alert jobs on a fake clock: local days across DST, no duplicate after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.replies import Reply
from bot.settings import SummarySchedule
from bot.summaries import post_alerts, post_summary, with_retries
from costing.budgets import check_budgets, make_scope, set_budget
from costing.settings import AggregationSettings, CostingSettings
from costing.units import Money
from storage.db import SessionFactory
from storage.tables import ScheduledPost


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


SETTINGS = CostingSettings(aggregation=AggregationSettings(timezone="Europe/London"))


async def test_summaries_cover_the_local_days_before_they_fire(sessions: SessionFactory) -> None:
    daily = SummarySchedule(channel_id=1, kind="daily", hour=9, minute=30)
    weekly = SummarySchedule(channel_id=2, kind="weekly", hour=8, day_of_week="mon")
    # London moves from GMT to BST on Sunday 2026-03-29: the fire times of the real scheduler.
    fires = [
        (daily, "2026-03-27 09:30"),
        (daily, "2026-03-28 09:30"),
        (daily, "2026-03-29 08:30"),
        (weekly, "2026-03-30 07:00"),
        (daily, "2026-03-30 08:30"),
        (daily, "2026-03-31 08:30"),
    ]
    poster = FakePoster()
    for job, moment in fires:
        now = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        assert await post_summary(
            job, poster=poster, session_factory=sessions, costing=SETTINGS, now=now
        )
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
    now = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    first, after_restart = FakePoster(), FakePoster()
    assert await post_summary(
        daily, poster=first, session_factory=sessions, costing=SETTINGS, now=now
    )
    assert not await post_summary(
        daily,
        poster=after_restart,
        session_factory=sessions,
        costing=SETTINGS,
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
    poster = FakePoster(failures=2)
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    ok = await with_retries(
        lambda: post_summary(
            daily,
            poster=poster,
            session_factory=sessions,
            costing=SETTINGS,
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


class ChannelDownPoster(FakePoster):
    """Fails every post to one channel while `down` is set."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down: int | None = down

    async def __call__(self, channel_id: int, reply: Reply) -> int:
        if channel_id == self.down:
            raise ConnectionError("this channel is unreachable")
        return await super().__call__(channel_id, reply)


async def test_an_alert_failing_on_one_channel_is_never_posted_twice_to_the_others(
    sessions: SessionFactory,
) -> None:
    now = datetime(2026, 3, 30, 8, tzinfo=UTC)
    set_budget(sessions, scope=make_scope("all"), limit=Money.from_decimal("0.000000001"), now=now)
    from storage.tables import InferenceRecord
    from tests.factories import inference_row

    with Session(sessions().get_bind()) as session:
        session.add(InferenceRecord(**inference_row(created_at=now - timedelta(hours=1))))
        session.commit()
    check_budgets(sessions, now=now)
    poster = ChannelDownPoster(down=6)
    for _ in range(2):  # the first try and its retry, with channel 6 still down
        with pytest.raises(ConnectionError):
            await post_alerts(
                poster=poster, session_factory=sessions, channel_ids=[5, 6, 7], now=now
            )
    assert sorted(channel for channel, _ in poster.posts) == [5, 5, 7, 7]  # two alerts each
    poster.down = None
    assert (
        await post_alerts(poster=poster, session_factory=sessions, channel_ids=[5, 6, 7], now=now)
        == 2
    )
    assert sorted(channel for channel, _ in poster.posts) == [5, 5, 6, 6, 7, 7]
    assert (
        await post_alerts(poster=poster, session_factory=sessions, channel_ids=[5, 6, 7], now=now)
        == 0
    )
