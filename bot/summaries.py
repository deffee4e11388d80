"""Scheduled summaries and budget alerts: plain job functions (the face's scheduler runs them).

A summary, and each alert in each channel, is claimed (costing.claims: a scheduled_post row)
before it is posted, so a restart, a retry or a second process never posts it twice; a failed
post releases its claim and is retried. Their SQL and charts run in worker threads
(`asyncio.to_thread`): they share the bot's event loop, which must stay free for Discord.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.commands.reports import ReportDeps, summary_reply
from bot.replies import Reply
from bot.settings import SummarySchedule
from costing.budgets import AlertView, alert_key, mark_posted, pending_alerts, scope_name
from costing.claims import claim_alert, claim_post, release_claim, set_message
from costing.figures import money
from costing.periods import Period, parse_period
from costing.settings import CostingSettings
from storage.db import SessionFactory

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
    claim = await asyncio.to_thread(_claim, session_factory, schedule, key=target.key, now=now)
    if claim is None:
        log.info(
            "%s summary %s for %s already posted", schedule.kind, target.key, schedule.channel_id
        )
        return False
    try:
        reply = await asyncio.to_thread(
            summary_reply,
            ReportDeps(session_factory, costing, now),
            period=target.period,
            title=target.title,
        )
        message_id = await poster(schedule.channel_id, reply)
    except BaseException:
        await asyncio.to_thread(release_claim, session_factory, claim)
        raise
    await asyncio.to_thread(set_message, session_factory, claim, message_id)
    return True


def _claim(
    session_factory: SessionFactory, schedule: SummarySchedule, *, key: str, now: datetime
) -> int | None:
    return claim_post(
        session_factory, channel_id=schedule.channel_id, kind=schedule.kind, key=key, now=now
    )


async def post_alerts(
    *, poster: Poster, session_factory: SessionFactory, channel_ids: list[int], now: datetime
) -> int:
    """Post every pending budget alert to the summary channels, each (alert, channel) claimed
    before it is posted, so a retry or a second process never posts it there again; mark an
    alert posted once every channel has it. Returns how many posts this call made.

    A channel whose post fails keeps the alert pending (its claim released); the other
    channels and alerts still go out, then the first failure is raised for the retry."""
    posted, failure = 0, None
    for alert in await asyncio.to_thread(pending_alerts, session_factory):
        count, error = await post_to_channels(
            alert_key(alert.id),
            alert_reply(alert),
            poster=poster,
            session_factory=session_factory,
            channel_ids=channel_ids,
            now=now,
        )
        posted, failure = posted + count, failure or error
        if error is None:
            await asyncio.to_thread(mark_posted, session_factory, alert.id, now=now)
    if failure is not None:
        raise failure
    return posted


async def post_to_channels(
    key: str,
    reply: Reply,
    *,
    poster: Poster,
    session_factory: SessionFactory,
    channel_ids: list[int],
    now: datetime,
) -> tuple[int, BaseException | None]:
    """Post one alert to each channel once (see post_alert_once). Returns (posts this call
    made, the first retryable failure or None): a failed channel does not stop the others."""
    posted, failure = 0, None
    for channel_id in channel_ids:
        try:
            posted += await post_alert_once(
                key,
                reply,
                poster=poster,
                session_factory=session_factory,
                channel_id=channel_id,
                now=now,
            )
        except RETRYABLE as error:
            failure = failure or error
    return posted, failure


async def post_alert_once(
    key: str,
    reply: Reply,
    *,
    poster: Poster,
    session_factory: SessionFactory,
    channel_id: int,
    now: datetime,
) -> bool:
    """Claim an alert in a channel and post it; False when it was claimed before (by anyone).

    On a failed post the claim is released and the error raised. Any kind of alert may use it
    with its own key (see costing.claims.claim_alert)."""
    claim = await asyncio.to_thread(
        claim_alert, session_factory, key=key, channel_id=channel_id, now=now
    )
    if claim is None:
        return False
    try:
        message_id = await poster(channel_id, reply)
    except BaseException:
        await asyncio.to_thread(release_claim, session_factory, claim)
        raise
    await asyncio.to_thread(set_message, session_factory, claim, message_id)
    return True


def alert_reply(alert: AlertView) -> Reply:
    """The message for a crossed budget threshold."""
    budget = alert.budget
    return Reply(
        title=f"Budget alert: {scope_name(budget.scope)} at {alert.threshold_pct}%",
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
