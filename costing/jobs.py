"""The costing job: fold new records into the roll-ups, then check the budgets (a plain function;
the face's scheduler runs it every ``aggregation.interval_s``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from costing.aggregation import DEFAULT_SETTLE_S, AggregationResult, aggregate
from costing.budgets import AlertView, check_budgets
from storage.db import SessionFactory


@dataclass(frozen=True)
class JobRun:
    """One run of the job: what aggregation did and which alerts it raised."""

    aggregation: AggregationResult
    alerts: tuple[AlertView, ...]


def run_job(
    session_factory: SessionFactory,
    *,
    now: datetime,
    timezone: str = "UTC",
    settle_s: float = DEFAULT_SETTLE_S,
) -> JobRun:
    """Aggregate (records settled `settle_s` seconds), then check the budgets against the fresh
    totals."""
    result = aggregate(session_factory, now=now, settle_s=settle_s)
    alerts = check_budgets(session_factory, now=now, timezone=timezone)
    return JobRun(result, tuple(alerts))
