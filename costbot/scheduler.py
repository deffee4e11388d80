"""The one scheduler: the aggregation job, the summary posts and the budget alerts.

The jobs are plain functions elsewhere (``costing.jobs.run_job``, ``bot.summaries``); this module
only says when each runs. Times are local to the configured time zone.

Restarts: on start, a summary whose time fell within its grace time before now (while no process
ran) is posted once at once, for the period it was due for; the claim table (``scheduled_post``)
already makes a post happen once, so it is the only state needed, and the jobs stay closures
over live objects (a persistent job store would have to pickle them and keep a second copy
of what the claims say). Pending budget alerts live in the database; their job runs at start.

Several processes on one PostgreSQL: given a `Leadership` (an advisory lock), every process
schedules the jobs but only the leader runs them (costbot/leading.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.conversations import close_idle_conversations
from bot.forecast_alerts import post_forecast_alerts
from bot.settings import SummarySchedule, SupportSettings
from bot.summaries import Poster, post_alerts, post_summary, with_retries
from costbot.leading import LeaderScheduler
from costing.jobs import run_job
from costing.settings import CostingSettings
from storage.db import SessionFactory
from storage.leader import Leadership
from storage.types import utc_now

log = logging.getLogger(__name__)
AGGREGATION_JOB = "costbot-aggregation"
IDLE_CLOSE_JOB = "support-idle-close"
IDLE_CLOSE_INTERVAL_S = 60  # a conversation is closed at most a minute after its timeout
SUMMARY_GRACE_S = 3600  # a summary posted up to an hour late is still worth posting
Clock = Callable[[], datetime]


def build_scheduler(
    *,
    session_factory: SessionFactory,
    costing: CostingSettings,
    summaries: Sequence[SummarySchedule] = (),
    poster: Poster | None = None,
    clock: Clock = utc_now,
    retry_delay_s: float = 30.0,
    support: SupportSettings | None = None,
    leadership: Leadership | None = None,
) -> AsyncIOScheduler:
    """A scheduler (not started): aggregation; with support settings, the idle close of
    support conversations; with a poster, summaries and budget alerts too. With a `leadership`,
    each job runs only while this process leads (one leader per database)."""
    scheduler = LeaderScheduler(
        leadership=leadership,
        check_s=costing.aggregation.leader_check_s,
        timezone=costing.timezone,
    )
    _add_aggregation(scheduler, session_factory, costing=costing, clock=clock)
    if support is not None:
        _add_idle_close(scheduler, session_factory, support=support, clock=clock)
    if poster is not None:
        jobs = _Posts(session_factory, costing, poster, clock, retry_delay_s)
        for index, schedule in enumerate(summaries):
            jobs.add_summary(scheduler, schedule, index)
        jobs.add_alerts(scheduler, sorted({s.channel_id for s in summaries}))
        jobs.add_forecast_alerts(scheduler, sorted({s.channel_id for s in summaries}))
    return scheduler


def _add_aggregation(
    scheduler: AsyncIOScheduler,
    session_factory: SessionFactory,
    *,
    costing: CostingSettings,
    clock: Clock,
) -> None:
    def job() -> None:
        settle_s = costing.aggregation.settle_s
        run = run_job(session_factory, now=clock(), timezone=costing.timezone, settle_s=settle_s)
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


def _add_idle_close(
    scheduler: AsyncIOScheduler,
    session_factory: SessionFactory,
    *,
    support: SupportSettings,
    clock: Clock,
) -> None:
    def job() -> None:
        closed = close_idle_conversations(
            session_factory,
            clock(),
            idle_timeout=support.idle_timeout,
            handoff_idle_timeout=support.handoff_idle_timeout,
        )
        if closed:
            log.info("closed %d idle support conversations", closed)

    scheduler.add_job(
        job,
        IntervalTrigger(seconds=IDLE_CLOSE_INTERVAL_S),
        id=IDLE_CLOSE_JOB,
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

        async def run(due: datetime | None = None) -> None:
            await with_retries(
                lambda: post_summary(
                    schedule,
                    poster=self.poster,
                    session_factory=self.sessions,
                    costing=self.costing,
                    now=due or self.clock(),
                ),
                name=name,
                delay_s=self.retry_delay_s,
            )

        trigger = summary_trigger(schedule, self.costing.timezone)
        scheduler.add_job(
            run,
            trigger,
            id=name,
            coalesce=True,
            misfire_grace_time=SUMMARY_GRACE_S,
            max_instances=1,
        )
        missed = missed_fire(trigger, now=self.clock())
        if missed is not None:
            log.info("%s fell due at %s while not running: posting it now", name, missed)
            scheduler.add_job(
                run, kwargs={"due": missed}, id=f"catch-up-{name}", misfire_grace_time=None
            )

    def add_alerts(self, scheduler: AsyncIOScheduler, channels: list[int]) -> None:
        """Pending budget alerts, every `aggregation.alert_interval_s`."""
        if not channels:
            return
        self._add_alert_job(
            scheduler,
            lambda: post_alerts(
                poster=self.poster,
                session_factory=self.sessions,
                channel_ids=channels,
                now=self.clock(),
            ),
            name="budget-alerts",
            interval_s=self.costing.aggregation.alert_interval_s,
        )

    def add_forecast_alerts(self, scheduler: AsyncIOScheduler, channels: list[int]) -> None:
        """Projected-budget and spike alerts, every `forecast.check_interval_s`."""
        if not channels:
            return
        self._add_alert_job(
            scheduler,
            lambda: post_forecast_alerts(
                poster=self.poster,
                session_factory=self.sessions,
                costing=self.costing,
                channel_ids=channels,
                now=self.clock(),
            ),
            name="forecast-alerts",
            interval_s=self.costing.forecast.check_interval_s,
        )

    def _add_alert_job(
        self,
        scheduler: AsyncIOScheduler,
        post: Callable[[], Awaitable[object]],
        *,
        name: str,
        interval_s: float,
    ) -> None:
        async def alerts() -> None:
            await with_retries(post, name=name, delay_s=self.retry_delay_s)

        scheduler.add_job(
            alerts,
            IntervalTrigger(seconds=interval_s),
            id=name,
            coalesce=True,
            max_instances=1,
            next_run_time=utc_now(),  # alerts raised while no process ran go out at start
        )


def missed_fire(trigger: CronTrigger, *, now: datetime) -> datetime | None:
    """The trigger's latest fire time within the grace time before `now`, if any."""
    fire = trigger.get_next_fire_time(None, now - timedelta(seconds=SUMMARY_GRACE_S))
    missed: datetime | None = None
    while fire is not None and fire <= now:
        missed = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return missed


def scheduler_problem(scheduler: AsyncIOScheduler | None) -> str | None:
    """None while the scheduler runs, else why not (for `/health`)."""
    if scheduler is None or not scheduler.running:
        return "the scheduler is not running"
    return None
