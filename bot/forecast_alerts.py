"""The forecast alerts job: projected budget exhaustion and spend spikes, each posted once per
channel (claimed through bot.summaries.post_to_channels, keys from costing.alerts_forecast).

The forecast fits models (CPU seconds), so the alerts are computed in a worker thread, never on
the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.replies import Reply
from bot.summaries import Poster, post_to_channels
from costing.alerts_forecast import ProjectedAlert, SpikeAlert, projected_alerts, spike_alerts
from costing.figures import money
from costing.forecast import ForecastInputs
from costing.prices import PriceBook
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory


def _money(amount: object, currency: str) -> str:
    return money(Money.from_decimal(str(amount)), currency)


def projected_reply(alert: ProjectedAlert, *, currency: str) -> Reply:
    """The message for a budget projected to run out."""
    outlook = alert.outlook
    budget, projection = outlook.budget, outlook.projection
    scope = budget.scope.kind + (f" {budget.scope.value}" if budget.scope.value else "")
    mape = projection.backtest_mape
    error = "n/a" if mape is None else f"{mape:.1f}%"
    return Reply(
        title=f"Budget forecast: {scope} projected to exceed on {outlook.exhaustion_date}",
        text=(
            f"{_money(outlook.spent, currency)} spent so far in {alert.month} (measured); at this "
            f"pace {_money(outlook.projected, currency)} by the month's end (forecast: "
            f"{projection.method.key}, backtest MAPE {error}) against a "
            f"{money(budget.limit, budget.currency)} limit (configured). See `/forecast`."
        ),
    )


def spike_reply(alert: SpikeAlert, *, currency: str) -> Reply:
    """The message for a spend spike, naming what drove it."""
    when = f"{alert.day} so far" if alert.partial else str(alert.day)
    drivers = "; ".join(
        f"{d.group} {d.label}: {_money(d.spend, currency)} (usually "
        f"{_money(d.usual, currency)} a day)"
        for d in alert.drivers
    )
    return Reply(
        title=f"Spend spike: {_money(alert.spend, currency)} on {when}",
        text=(
            f"{_money(alert.spend, currency)} spent on {when} (measured), above the trailing "
            f"{alert.window_days}-day median {_money(alert.median, currency)} + {alert.k} × MAD "
            f"{_money(alert.mad, currency)} = {_money(alert.threshold, currency)}. Driven by "
            f"{drivers}. See `/cost {alert.day}..{alert.day} group_by:command`."
        ),
    )


def forecast_alert_replies(
    session_factory: SessionFactory, *, costing: CostingSettings, now: datetime
) -> list[tuple[str, Reply]]:
    """(claim key, reply) of every projected and spike alert due now (blocking: CPU work)."""
    currency = PriceBook(session_factory, defaults=costing.prices).sheet_at(now).prices.currency
    inputs = ForecastInputs(session_factory, costing.forecast, now, costing.timezone, currency)
    found = [(a.key, projected_reply(a, currency=currency)) for a in projected_alerts(inputs)]
    return found + [(a.key, spike_reply(a, currency=currency)) for a in spike_alerts(inputs)]


async def post_forecast_alerts(
    *,
    poster: Poster,
    session_factory: SessionFactory,
    costing: CostingSettings,
    channel_ids: list[int],
    now: datetime,
) -> int:
    """Post each due forecast alert to each channel once; returns how many posts this call
    made. A failed post releases its claim (tried again next time); the others still go out,
    then the first failure is raised for the retry."""
    replies = await asyncio.to_thread(
        forecast_alert_replies, session_factory, costing=costing, now=now
    )
    posted, failure = 0, None
    for key, reply in replies:
        count, error = await post_to_channels(
            key,
            reply,
            poster=poster,
            session_factory=session_factory,
            channel_ids=channel_ids,
            now=now,
        )
        posted, failure = posted + count, failure or error
    if failure is not None:
        raise failure
    return posted
