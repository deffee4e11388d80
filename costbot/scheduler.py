"""The one scheduler: the aggregation job, the summary posts and the budget alerts.

The jobs are plain functions elsewhere (``costing.jobs.run_job``, ``bot.summaries``); this module
only says when each runs. Times are local to the configured time zone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.settings import SummarySchedule
from bot.summaries import Poster, post_alerts, post_summary, with_retries
from costing.jobs import run_job
from costing.settings import CostingSettings
from storage.db import SessionFactory
from storage.types import utc_now

log = logging.getLogger(__name__)
AGGREGATION_JOB = "costbot-aggregation"
ALERT_INTERVAL_S = 60
Clock = Callable[[], datetime]


def build_scheduler(
    *,
    session_factory: SessionFactory,
    costing: CostingSettings,
    summaries: Sequence[SummarySchedule] = (),
    poster: Poster | None = None,
    clock: Clock = utc_now,
    retry_delay_s: float = 30.0,
) -> AsyncIOScheduler:
    """A scheduler (not started): aggregation; with a poster, summaries and budget alerts too."""
    scheduler = AsyncIOScheduler(timezone=costing.timezone)
    _add_aggregation(scheduler, session_factory, costing=costing, clock=clock)
    if poster is not None:
        jobs = _Posts(session_factory, costing, poster, clock, retry_delay_s)
        for index, schedule in enumerate(summaries):
            jobs.add_summary(scheduler, schedule, index)
        jobs.add_alerts(scheduler, sorted({s.channel_id for s in summaries}))
    return scheduler


def _add_aggregation(
    scheduler: AsyncIOScheduler,
    session_factory: SessionFactory,
    *,
    costing: CostingSettings,
    clock: Clock,
) -> None:
    def job() -> None:
        run = run_job(session_factory, now=clock(), timezone=costing.timezone)
        log.info(
            "aggregation folded %d records; %d new alerts", run.aggregation.folded, len(run.alerts)
        )

    scheduler.add_job(
        job,
        IntervalTrigger(seconds=costing.aggregation.interval_s),
        id=AGGREGATION_JOB,
        max_instances=1,
        coalesce=True,
    )


def summary_trigger(schedule: SummarySchedule, timezone: str) -> CronTrigger:
    """A cron trigger at the schedule's local time (daily, or weekly on its day)."""
    day = schedule.day_of_week if schedule.kind == "weekly" else "*"
    return CronTrigger(
        day_of_week=day, hour=schedule.hour, minute=schedule.minute, timezone=timezone
    )


class _Posts:
    """Adds the posting jobs, each retried on a passing failure."""

    def __init__(
        self,
        sessions: SessionFactory,
        costing: CostingSettings,
        poster: Poster,
        clock: Clock,
        retry_delay_s: float,
    ) -> None:
        self.sessions, self.costing, self.poster = sessions, costing, poster
        self.clock, self.retry_delay_s = clock, retry_delay_s

    def add_summary(
        self, scheduler: AsyncIOScheduler, schedule: SummarySchedule, index: int
    ) -> None:
        name = f"summary-{schedule.kind}-{schedule.channel_id}-{index}"

        async def run() -> None:
            await with_retries(
                lambda: post_summary(
                    schedule,
                    poster=self.poster,
                    session_factory=self.sessions,
                    costing=self.costing,
                    now=self.clock(),
                ),
                name=name,
                delay_s=self.retry_delay_s,
            )

        trigger = summary_trigger(schedule, self.costing.timezone)
        scheduler.add_job(
            run, trigger, id=name, coalesce=True, misfire_grace_time=3600, max_instances=1
        )

    def add_alerts(self, scheduler: AsyncIOScheduler, channels: list[int]) -> None:
        if not channels:
            return

        async def alerts() -> None:
            await with_retries(
                lambda: post_alerts(
                    poster=self.poster,
                    session_factory=self.sessions,
                    channel_ids=channels,
                    now=self.clock(),
                ),
                name="budget-alerts",
                delay_s=self.retry_delay_s,
            )

        trigger = IntervalTrigger(seconds=ALERT_INTERVAL_S)
        scheduler.add_job(alerts, trigger, id="budget-alerts", coalesce=True, max_instances=1)


def scheduler_problem(scheduler: AsyncIOScheduler | None) -> str | None:
    """None while the scheduler runs, else why not (for `/health`)."""
    if scheduler is None or not scheduler.running:
        return "the scheduler is not running"
    return None
