"""Answers for the bot and the CLI: cost and ROI reports as frozen dataclasses with ``to_json``.

Every figure carries where it came from: ``measured`` (an energy counter or power reading, a
count of records), ``estimated`` (CPU/GPU time × configured watts) or ``configured`` (a price).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import select as sa_select
from sqlmodel import col

from costing.periods import Period, parse_period
from costing.prices import PriceBook
from costing.readers import Scope, check_group, count_outcomes, read_totals
from costing.roi import (
    DAYS_PER_MONTH,
    OneOff,
    amortised_share,
    break_even_per_month,
    payback_days,
    roi,
)
from costing.settings import RoiSettings
from costing.totals import Totals
from costing.units import PICO, Carbon, Energy, Money
from storage.db import SessionFactory, session_scope
from storage.tables import SupportOutcome, TrainingRun

MEASURED, ESTIMATED, CONFIGURED = "measured", "estimated", "configured"


def usd(money: Money) -> float:
    """A money amount as a JSON number (the sheet's currency, exact to 1e-12)."""
    return float(money.amount)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class CostLine:
    """Sums for one group of inference records (or all of them)."""

    key: str
    count: int
    input_tokens: int
    compute: Money
    energy: Money
    hardware: Money
    data: Money
    energy_counter: Money
    energy_power_time: Money
    energy_used: Energy
    energy_measured: Energy
    co2: Carbon
    latency_ms_mean: float | None

    @classmethod
    def from_totals(cls, key: str, totals: Totals) -> CostLine:
        """A line from an accumulator."""
        return cls(
            key=key,
            count=totals.count,
            input_tokens=totals.input_tokens,
            compute=Money(totals.cost_compute_pico),
            energy=Money(totals.cost_energy_pico),
            hardware=Money(totals.cost_hardware_pico),
            data=Money(totals.cost_data_pico),
            energy_counter=Money(totals.cost_energy_counter_pico),
            energy_power_time=Money(totals.cost_energy_power_time_pico),
            energy_used=Energy(totals.energy_uj),
            energy_measured=Energy(totals.energy_measured_uj),
            co2=Carbon(totals.co2_ng),
            latency_ms_mean=totals.latency_ms_sum / totals.count if totals.count else None,
        )

    @property
    def total(self) -> Money:
        return self.compute + self.energy + self.hardware + self.data

    @property
    def by_provenance(self) -> dict[str, Money]:
        """Money by where it came from (energy money by its energy figure's source)."""
        estimated = self.energy - self.energy_counter - self.energy_power_time
        return {
            "energy-counter": self.energy_counter,
            "power-x-time": self.energy_power_time,
            "cpu-time-estimate": estimated,
            "configured-price": self.compute + self.hardware + self.data,
        }

    @property
    def measured_share(self) -> float:
        """Share of money resting on a measured energy figure."""
        measured = self.energy_counter + self.energy_power_time
        return _share(measured.pico, self.total.pico)

    @property
    def energy_source(self) -> str:
        """measured, estimated, or mixed (with the measured share of energy)."""
        if self.energy_used.microjoules and self.energy_measured == self.energy_used:
            return MEASURED
        if self.energy_measured.microjoules == 0:
            return ESTIMATED
        share = _share(self.energy_measured.microjoules, self.energy_used.microjoules)
        return f"mixed ({share:.0%} measured)"

    def to_json(self) -> dict[str, Any]:
        """The line as JSON-ready data."""
        return {
            "key": self.key,
            "count": self.count,
            "input_tokens": self.input_tokens,
            "usd": usd(self.total),
            "energy_j": self.energy_used.joules,
            "co2_g": self.co2.grams,
            "usd_by_component": {
                "compute": usd(self.compute),
                "energy": usd(self.energy),
                "hardware": usd(self.hardware),
                "data": usd(self.data),
            },
            "usd_by_provenance": {k: usd(v) for k, v in self.by_provenance.items()},
            "measured_share": self.measured_share,
            "latency_ms_mean": self.latency_ms_mean,
            "sources": {
                "count": MEASURED,
                "energy_j": self.energy_source,
                "co2_g": f"{self.energy_source} energy × configured grid intensity",
                "usd_by_component": {
                    "compute": "measured time × configured price",
                    "energy": f"{self.energy_source} energy × configured price",
                    "hardware": "measured time × configured amortisation",
                    "data": CONFIGURED,
                },
            },
        }


@dataclass(frozen=True)
class CostReport:
    """What inference cost in a period, in total and per group, plus idle owned hardware."""

    start: datetime
    end: datetime
    timezone: str
    currency: str
    group_by: str | None
    total: CostLine
    groups: tuple[CostLine, ...]
    idle: Money
    idle_hours: float

    @property
    def total_with_idle(self) -> Money:
        return self.total.total + self.idle

    @property
    def measured_share(self) -> float:
        """Share of all money (idle included) resting on a measured energy figure."""
        measured = self.total.energy_counter + self.total.energy_power_time
        return _share(measured.pico, self.total_with_idle.pico)

    @property
    def cost_per_inference(self) -> Money | None:
        """All cost, idle hardware included, per inference (never flattered by idle time)."""
        count = self.total.count
        return Money(self.total_with_idle.pico // count) if count else None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (shape documented in docs/costing.md)."""
        per = self.cost_per_inference
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "timezone": self.timezone,
            "currency": self.currency,
            "group_by": self.group_by,
            "total": self.total.to_json(),
            "idle_usd": usd(self.idle),
            "idle_hours": self.idle_hours,
            "total_with_idle_usd": usd(self.total_with_idle),
            "cost_per_inference_usd": usd(per) if per is not None else None,
            "measured_share": self.measured_share,
            "groups": [line.to_json() for line in self.groups],
            "sources": {"idle_usd": "configured amortisation × idle hours"},
        }


def resolve_period(period: str | Period, *, now: datetime, timezone: str) -> Period:
    """A Period from text or as given."""
    if isinstance(period, Period):
        return period
    return parse_period(period, now=now, timezone=timezone)


def cost_report(
    session_factory: SessionFactory,
    *,
    period: str | Period,
    group_by: str | None,
    now: datetime,
    prices: PriceBook,
    timezone: str = "UTC",
    scope: Scope | None = None,
) -> CostReport:
    """Cost of the inference records in a period (roll-ups + live tail: exact)."""
    window = resolve_period(period, now=now, timezone=timezone)
    group = check_group(group_by)
    sums = read_totals(session_factory, period=window, group_by=group, scope=scope)
    total = Totals()
    for part in sums.values():
        total.add(part)
    by_cost = sorted(sums.items(), key=lambda item: (-item[1].total_pico, item[0]))
    groups = sorted(sums.items()) if group == "day" else by_cost
    line = CostLine.from_totals("all", total)
    idle, idle_hours = idle_cost(prices, period=window, attributed=line.hardware)
    return CostReport(
        start=window.start,
        end=window.end,
        timezone=window.timezone,
        currency=prices.sheet_at(window.end).prices.currency,
        group_by=group,
        total=line,
        groups=tuple(CostLine.from_totals(k, v) for k, v in groups),
        idle=idle if scope is None else Money(0),
        idle_hours=idle_hours if scope is None else 0.0,
    )


def idle_cost(book: PriceBook, *, period: Period, attributed: Money) -> tuple[Money, float]:
    """Owned hardware's cost for the period not covered by attributed work, and its hours."""
    calendar = Decimal(0)
    for start, end, sheet in book.segments(period.start, period.end):
        if sheet.owned:
            hours = Decimal((end - start).total_seconds()) / 3600
            calendar += hours * sheet.calendar_hour
    if calendar == 0:
        return Money(0), 0.0
    idle = max(Money(round(calendar * PICO)) - attributed, Money(0))
    return idle, period.hours * idle.pico / round(calendar * PICO)


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
            "value_usd": usd(self.value),
            "cost_usd": usd(self.cost),
            "operating_usd": usd(self.operating),
            "inference_usd": usd(self.inference_cost),
            "idle_usd": usd(self.idle),
            "training_amortised_usd": usd(self.training_amortised),
            "training_total_usd": usd(self.training_total),
            "roi": self.roi,
            "payback_days": self.payback_days,
            "break_even_per_month": self.break_even_per_month,
            "measured_share": self.measured_share,
            "revenue_usd": usd(self.revenue) if self.revenue is not None else None,
            "revenue_roi": self.revenue_roi,
            "revenue_cost_ratio": self.revenue_cost_ratio,
            "sources": dict(self.sources),
        }


ROI_SOURCES = {
    "resolved": MEASURED,
    "escalated": MEASURED,
    "calls": MEASURED,
    "cost_usd": "inference + idle hardware + training amortised",
    "operating_usd": "inference + idle hardware",
    "roi": "derived: (value - cost) / cost",
    "payback_days": "derived: training total / daily (value - operating)",
    "break_even_per_month": "derived: monthly fixed cost / margin per message",
    "value_usd": "measured resolved count × configured human_ticket_cost",
    "inference_usd": "inference records (see measured_share)",
    "idle_usd": "configured amortisation × idle hours",
    "training_amortised_usd": "training runs (measured/estimated) over configured months",
    "revenue_usd": "measured calls × configured price_per_call",
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
