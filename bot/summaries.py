"""Scheduled summaries and budget alerts: plain job functions (the face's scheduler runs them).

A summary is claimed (a ScheduledPost row, unique per channel, kind and period) before it is
posted, so a restart or a second instance never posts it twice; a failed post releases its claim
and is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, delete

from bot.commands.reports import ReportDeps, summary_reply
from bot.replies import Reply
from bot.settings import SummarySchedule
from costing.budgets import AlertView, mark_posted, pending_alerts
from costing.figures import money
from costing.periods import Period, parse_period
from costing.settings import CostingSettings
from storage.db import SessionFactory, session_scope
from storage.tables import ScheduledPost

log = logging.getLogger(__name__)

Poster = Callable[[int, Reply], Awaitable[int | None]]
"""Posts a reply in a channel; returns the message id. Raises OSError/PostFailedError on failure."""
Sleep = Callable[[float], Awaitable[None]]
RETRYABLE = (SQLAlchemyError, OSError)


@dataclass(frozen=True)
class SummaryTarget:
    """The period a summary covers, its unique key and title."""

    period: Period
    key: str
    title: str


def summary_target(kind: str, *, now: datetime, timezone: str) -> SummaryTarget:
    """Daily: yesterday (local). Weekly: the seven local days ending yesterday."""
    yesterday = parse_period("yesterday", now=now, timezone=timezone)
    last = yesterday.local_day(yesterday.start)
    if kind == "daily":
        return SummaryTarget(yesterday, last.isoformat(), f"Daily summary: {last}")
    span = f"{last - timedelta(days=6)}..{last}"
    return SummaryTarget(
        parse_period(span, now=now, timezone=timezone), span, f"Weekly summary: {span}"
    )


async def post_summary(
    schedule: SummarySchedule,
    *,
    poster: Poster,
    session_factory: SessionFactory,
    costing: CostingSettings,
    now: datetime,
) -> bool:
    """Post one scheduled summary unless it was already posted; True if posted now."""
    target = summary_target(schedule.kind, now=now, timezone=costing.timezone)
    claim = _claim(session_factory, schedule, key=target.key, now=now)
    if claim is None:
        log.info(
            "%s summary %s for %s already posted", schedule.kind, target.key, schedule.channel_id
        )
        return False
    try:
        reply = summary_reply(
            ReportDeps(session_factory, costing, now), period=target.period, title=target.title
        )
        message_id = await poster(schedule.channel_id, reply)
    except BaseException:
        _release(session_factory, claim)
        raise
    _set_message(session_factory, claim, message_id)
    return True


def _claim(
    session_factory: SessionFactory, schedule: SummarySchedule, *, key: str, now: datetime
) -> int | None:
    row = ScheduledPost(
        channel_id=schedule.channel_id, kind=schedule.kind, period_key=key, posted_at=now
    )
    try:
        with session_scope(session_factory) as session:
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        return None


def _release(session_factory: SessionFactory, claim: int) -> None:
    with session_scope(session_factory) as session:
        session.execute(delete(ScheduledPost).where(col(ScheduledPost.id) == claim))


def _set_message(session_factory: SessionFactory, claim: int, message_id: int | None) -> None:
    with session_scope(session_factory) as session:
        row = session.get(ScheduledPost, claim)
        if row is not None:
            row.message_id = message_id
            session.add(row)


async def post_alerts(
    *, poster: Poster, session_factory: SessionFactory, channel_ids: list[int], now: datetime
) -> int:
    """Post every pending budget alert to the summary channels; mark each posted. Returns count."""
    alerts = pending_alerts(session_factory)
    for alert in alerts:
        for channel_id in channel_ids:
            await poster(channel_id, alert_reply(alert))
        mark_posted(session_factory, alert.id, now=now)
    return len(alerts)


def alert_reply(alert: AlertView) -> Reply:
    """The message for a crossed budget threshold."""
    budget = alert.budget
    scope = budget.scope.kind + (f" {budget.scope.value}" if budget.scope.value else "")
    return Reply(
        title=f"Budget alert: {scope} at {alert.threshold_pct}%",
        text=f"{money(alert.spent, budget.currency)} spent in {alert.month} (measured and "
        f"estimated costs) of a {money(budget.limit, budget.currency)} limit "
        "(configured). See `/budget show` and `/cost month group_by:model`.",
    )


async def with_retries(
    job: Callable[[], Awaitable[object]],
    *,
    name: str,
    attempts: int = 3,
    delay_s: float = 30.0,
    sleep: Sleep = asyncio.sleep,
) -> bool:
    """Run a job; on a retryable failure log it and try again later. True if it succeeded."""
    for attempt in range(1, attempts + 1):
        try:
            await job()
            return True
        except RETRYABLE as error:
            log.warning(
                "job %s failed (attempt %d/%d): %s", name, attempt, attempts, type(error).__name__
            )
            if attempt < attempts:
                await sleep(delay_s * attempt)
    log.error("job %s gave up after %d attempts", name, attempts)
    return False
