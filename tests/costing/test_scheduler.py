from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from costing.budgets import make_scope, set_budget
from costing.scheduler import JOB_ID, run_job, schedule_aggregation
from costing.units import Money
from storage.db import SessionFactory
from storage.settings import ScheduleSettings
from tests.costing.conftest import insert_rows
from tests.costing.sums import raw_sums, rollup_sums
from tests.factories import inference_row


def test_the_job_runs_at_the_configured_interval_on_the_given_clock(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    insert_rows(engine, [inference_row(created_at=now - timedelta(minutes=3))])
    times = iter([now, now + timedelta(minutes=5)])
    scheduler = BackgroundScheduler()
    schedule_aggregation(scheduler, sessions, settings=ScheduleSettings(aggregation_interval_s=42),
                         clock=lambda: next(times))  # fmt: skip
    job = scheduler.get_job(JOB_ID)
    assert job.trigger.interval == timedelta(seconds=42)
    job.func()
    job.func()
    assert rollup_sums(engine) == raw_sums(engine)


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
