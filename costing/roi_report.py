"""The ROI report: value of resolved messages against all cost in a period, with payback and
break-even volume; it carries the inputs it used (ticket costs, amortisation) with its figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

from sqlalchemy import select as sa_select
from sqlmodel import col

from costing.cost_report import MEASURED, CostReport, cost_report, resolve_period
from costing.figures import exact
from costing.periods import Period
from costing.prices import PriceBook
from costing.readers import count_outcomes, read_totals
from costing.roi import (
    DAYS_PER_MONTH,
    OneOff,
    amortised_share,
    break_even_per_month,
    payback_days,
    roi,
)
from costing.settings import RoiSettings
from costing.units import Money
from storage.db import SessionFactory, session_scope
from storage.tables import SupportOutcome, TrainingRun


def _decimal(value: float | None, places: int) -> str | None:
    """A derived ratio as a decimal string with `places` decimals (None stays None)."""
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class RoiReport:
    """Value against cost for the support scenario in a period."""

    start: datetime
    end: datetime
    timezone: str
    currency: str
    resolved: int
    escalated: int
    calls: int
    value: Money
    inference_cost: Money
    idle: Money
    training_amortised: Money
    training_total: Money
    roi: float | None
    payback_days: float | None
    break_even_per_month: int | None
    measured_share: float
    revenue: Money | None = None
    revenue_roi: float | None = None
    revenue_cost_ratio: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    ticket_costs: tuple[Decimal, ...] = ()
    amortisation_months: int = 12

    @property
    def operating(self) -> Money:
        return self.inference_cost + self.idle

    @property
    def cost(self) -> Money:
        return self.operating + self.training_amortised

    def to_json(self) -> dict[str, Any]:
        """The answer as JSON-ready data (shape documented in docs/costing.md)."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "timezone": self.timezone,
            "currency": self.currency,
            "resolved": self.resolved,
            "escalated": self.escalated,
            "calls": self.calls,
            "value": exact(self.value),
            "cost": exact(self.cost),
            "operating": exact(self.operating),
            "inference": exact(self.inference_cost),
            "idle": exact(self.idle),
            "training_amortised": exact(self.training_amortised),
            "training_total": exact(self.training_total),
            "roi": _decimal(self.roi, 6),
            "payback_days": _decimal(self.payback_days, 3),
            "break_even_per_month": self.break_even_per_month,
            "measured_share": self.measured_share,
            "revenue": exact(self.revenue) if self.revenue is not None else None,
            "revenue_roi": _decimal(self.revenue_roi, 6),
            "revenue_cost_ratio": _decimal(self.revenue_cost_ratio, 6),
            "inputs": {
                "human_ticket_cost": [str(t) for t in self.ticket_costs],
                "training_amortisation_months": self.amortisation_months,
            },
            "sources": dict(self.sources),
        }


ROI_SOURCES = {
    "resolved": MEASURED,
    "escalated": MEASURED,
    "calls": MEASURED,
    "cost": "inference + idle hardware + training amortised",
    "operating": "inference + idle hardware",
    "roi": "derived: (value - cost) / cost",
    "payback_days": "derived: training total / daily (value - operating)",
    "break_even_per_month": "derived: monthly fixed cost / margin per message",
    "value": "measured resolved count × human_ticket_cost of the price sheet at each resolution",
    "inference": "inference records (see measured_share)",
    "idle": "configured amortisation × idle hours",
    "training_amortised": "training runs (measured/estimated) over configured months",
    "revenue": "measured calls × price_per_call of the price sheet at each call",
}


def roi_report(
    session_factory: SessionFactory,
    *,
    period: str | Period,
    now: datetime,
    prices: PriceBook,
    roi_settings: RoiSettings,
    timezone: str = "UTC",
) -> RoiReport:
    """Value, cost, ROI, payback and break-even volume for a period."""
    window = resolve_period(period, now=now, timezone=timezone)
    costs = cost_report(session_factory, period=window, group_by=None, now=now, prices=prices)
    outcomes = count_outcomes(session_factory, period=window)
    runs = training_costs(session_factory, before=window.end)
    months = roi_settings.training_amortisation_months
    amortised = sum(
        (amortised_share(r, start=window.start, end=window.end, months=months) for r in runs),
        Money(0),
    )
    value, tickets = resolved_value(session_factory, period=window, prices=prices)
    resolved, escalated = outcomes["resolved"], outcomes["escalated"]
    training_total = sum((r.cost for r in runs), Money(0))
    operating = costs.total_with_idle
    cost = operating + amortised
    revenue, revenue_roi, ratio = _revenue(session_factory, window, prices=prices, cost=cost)
    return RoiReport(
        start=window.start,
        end=window.end,
        timezone=window.timezone,
        currency=costs.currency,
        resolved=resolved,
        escalated=escalated,
        calls=costs.total.count,
        value=value,
        inference_cost=costs.total.total,
        idle=costs.idle,
        training_amortised=amortised,
        training_total=training_total,
        roi=roi(value, cost),
        payback_days=payback_days(
            one_off=training_total, value=value, operating=operating, days=window.days
        ),
        break_even_per_month=_break_even(
            costs,
            value=value,
            messages=resolved + escalated,
            window=window,
            training_monthly=Money(training_total.pico // months),
        ),
        measured_share=costs.measured_share,
        revenue=revenue,
        revenue_roi=revenue_roi,
        revenue_cost_ratio=ratio,
        sources=ROI_SOURCES,
        ticket_costs=tickets,
        amortisation_months=months,
    )


def resolved_value(
    session_factory: SessionFactory, *, period: Period, prices: PriceBook
) -> tuple[Money, tuple[Decimal, ...]]:
    """Resolved messages × the human ticket cost on the price sheet valid when each was resolved;
    and the ticket costs that applied (distinct, in time order)."""
    value, tickets = Money(0), []
    for start, end, sheet in prices.segments(period.start, period.end):
        part = Period(start, end, period.timezone)
        resolved = count_outcomes(session_factory, period=part)["resolved"]
        value += Money.from_decimal(sheet.human_ticket_cost * resolved)
        tickets.append(sheet.human_ticket_cost)
    return value, tuple(dict.fromkeys(tickets))


def _revenue(
    session_factory: SessionFactory, period: Period, *, prices: PriceBook, cost: Money
) -> tuple[Money | None, float | None, float | None]:
    segments = prices.segments(period.start, period.end)
    if all(sheet.price_per_call is None for _, _, sheet in segments):
        return None, None, None
    revenue = Money(0)
    for start, end, sheet in segments:
        if sheet.price_per_call is not None:
            sums = read_totals(session_factory, period=Period(start, end, period.timezone))
            calls = sum(t.count for t in sums.values())
            revenue += Money.from_decimal(sheet.price_per_call * calls)
    ratio = revenue.pico / cost.pico if cost.pico else None
    return revenue, roi(revenue, cost), ratio


def _break_even(
    costs: CostReport, *, value: Money, messages: int, window: Period, training_monthly: Money
) -> int | None:
    if messages == 0:
        return None
    idle_monthly = Money(round(costs.idle.pico * DAYS_PER_MONTH / window.days))
    return break_even_per_month(
        fixed_per_month=training_monthly + idle_monthly,
        value_per_message=Money(value.pico // messages),
        cost_per_message=Money(costs.total.total.pico // messages),
    )


def training_costs(session_factory: SessionFactory, *, before: datetime) -> list[OneOff]:
    """Every training run finished before a time, with its whole cost (data included)."""
    run = TrainingRun
    total = (
        col(run.cost_compute_pico)
        + col(run.cost_energy_pico)
        + col(run.cost_hardware_pico)
        + col(run.cost_data_pico)
    )
    query = sa_select(col(run.finished_at), total).where(col(run.finished_at) < before)
    with session_scope(session_factory) as session:
        rows = cast(list[tuple[datetime, int]], session.execute(query).all())
        return [OneOff(Money(int(c)), finished) for finished, c in rows]


@dataclass(frozen=True)
class DayPoint:
    """One day of value and cost (for charts)."""

    day: date
    value: Money
    cost: Money


def daily_value_and_cost(
    session_factory: SessionFactory,
    *,
    period: Period,
    now: datetime,
    prices: PriceBook,
    roi_settings: RoiSettings,
) -> tuple[DayPoint, ...]:
    """Per local day: value of resolved messages and all cost (idle, training spread evenly)."""
    report = roi_report(
        session_factory, period=period, now=now, prices=prices, roi_settings=roi_settings
    )
    by_day = cost_report(session_factory, period=period, group_by="day", now=now, prices=prices)
    value = _value_per_day(session_factory, period=period, prices=prices)
    days = sorted({*(g.key for g in by_day.groups), *value})
    fixed = (report.idle + report.training_amortised).pico // max(len(days), 1)
    inference = {g.key: g.total for g in by_day.groups}
    return tuple(
        DayPoint(
            day=date.fromisoformat(day),
            value=value.get(day, Money(0)),
            cost=inference.get(day, Money(0)) + Money(fixed),
        )
        for day in days
    )


def _value_per_day(
    session_factory: SessionFactory, *, period: Period, prices: PriceBook
) -> dict[str, Money]:
    """Per local day: resolved messages, each at the ticket cost valid when it was resolved."""
    created = col(SupportOutcome.created_at)
    query = sa_select(created).where(
        created >= period.start, created < period.end, col(SupportOutcome.outcome) == "resolved"
    )
    values: dict[str, Money] = defaultdict(Money.zero)
    with session_scope(session_factory) as session:
        moments = cast(list[datetime], session.execute(query).scalars().all())
    for moment in moments:
        ticket = prices.sheet_at(moment).prices.human_ticket_cost
        values[period.local_day(moment).isoformat()] += Money.from_decimal(ticket)
    return values
