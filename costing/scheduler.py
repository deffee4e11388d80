"""APScheduler wiring: the aggregation job (then the budget check) every interval."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

from costing.aggregation import AggregationResult, aggregate
from costing.budgets import AlertView, check_budgets
from storage.db import SessionFactory
from storage.settings import ScheduleSettings
from storage.types import utc_now

log = logging.getLogger(__name__)
JOB_ID = "costbot-aggregation"


@dataclass(frozen=True)
class JobRun:
    """One run of the job: what aggregation did and which alerts it raised."""

    aggregation: AggregationResult
    alerts: tuple[AlertView, ...]


def run_job(session_factory: SessionFactory, *, now: datetime, timezone: str = "UTC") -> JobRun:
    """Aggregate, then check the budgets against the fresh totals."""
    result = aggregate(session_factory, now=now)
    alerts = check_budgets(session_factory, now=now, timezone=timezone)
    return JobRun(result, tuple(alerts))


def schedule_aggregation(
    scheduler: BaseScheduler,
    session_factory: SessionFactory,
    *,
    settings: ScheduleSettings,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Add the job to a scheduler (one instance at a time, missed runs coalesced)."""

    def job() -> None:
        run = run_job(session_factory, now=clock(), timezone=settings.timezone)
        log.info(
            "aggregation folded %d records; %d new alerts", run.aggregation.folded, len(run.alerts)
        )

    scheduler.add_job(
        job,
        "interval",
        seconds=settings.aggregation_interval_s,
        id=JOB_ID,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
    )


def start_scheduler(
    session_factory: SessionFactory, *, settings: ScheduleSettings
) -> BaseScheduler:
    """A started background scheduler running the aggregation job."""
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    schedule_aggregation(scheduler, session_factory, settings=settings)
    scheduler.start()
    return scheduler
