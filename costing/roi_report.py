"""The ROI report: value of resolved messages against all cost in a period, with payback and
break-even volume; it carries the inputs it used (ticket costs, amortisation) with its figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from costing.cost_report import IDLE_SOURCE, MEASURED, CostReport, cost_report, resolve_period
from costing.figures import exact
from costing.outcomes import ConversationOutcome, OutcomeCounts, conversation_outcomes, count
from costing.periods import Period, day_window
from costing.prices import PriceBook
from costing.readers import count_outcomes, read_totals
from costing.roi import (
    DAYS_PER_MONTH,
    OneOff,
    amortised_share,
    break_even_messages,
    break_even_per_month,
    payback_days,
    roi,
    unamortised,
)
from costing.roi_one_offs import one_offs
from costing.settings import RoiSettings
from costing.units import Money
from storage.db import SessionFactory


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
    outcomes: OutcomeCounts = field(default_factory=lambda: count([]))
    value_assumed: Money = field(default_factory=Money.zero)
    wrong_answers: Money = field(default_factory=Money.zero)
    unamortised: Money = field(default_factory=Money.zero)
    break_even_messages: int | None = None
    rate_window: Period | None = None
    projection: Projection | None = None
    inputs: RoiInputs | None = None
    rnd_spend: Money = field(default_factory=Money.zero)
    rnd_to_date: Money = field(default_factory=Money.zero)
    deployed: tuple[str, ...] = ()

    @property
    def operating(self) -> Money:
        return self.inference_cost + self.idle

    @property
    def cost(self) -> Money:
        return self.operating + self.training_amortised + self.wrong_answers

    @property
    def roi_percent(self) -> float | None:
        """The ROI as a percentage, as every surface shows it."""
        return None if self.roi is None else self.roi * 100

    @property
    def containment_rate(self) -> float | None:
        """Settled conversations the bot closed without a person: contained or confirmed."""
        return self.outcomes.rate("contained", "confirmed")

    @property
    def recontact_rate(self) -> float | None:
        """Settled conversations reopened (re-contact, or a person asked for after an answer)."""
        return self.outcomes.rate("reopened")

    @property
    def escalation_rate(self) -> float | None:
        """Settled conversations handed to a person."""
        return self.outcomes.rate("escalated")

    @property
    def confirmed_share(self) -> float | None:
        """Settled conversations the customer confirmed as solved."""
        return self.outcomes.rate("confirmed")

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
                **(self.inputs.to_json() if self.inputs else {}),
            },
            "sources": dict(self.sources),
            **self._outcome_json(),
        }

    def _outcome_json(self) -> dict[str, Any]:
        usd = self.currency == "USD"
        return {
            "roi_percent": _decimal(self.roi_percent, 4),
            "value_usd": exact(self.value) if usd else None,
            "cost_usd": exact(self.cost) if usd else None,
            "conversations": self.outcomes.conversations,
            "outcomes": self.outcomes.to_json(),
            "escalation_reasons": dict(self.outcomes.reasons),
            "containment_rate": self.containment_rate,
            "confirmed_share": self.confirmed_share,
            "recontact_rate": self.recontact_rate,
            "escalation_rate": self.escalation_rate,
            "value_measured": exact(self.value),
            "value_assumed": exact(self.value_assumed),
            "wrong_answers": exact(self.wrong_answers),
            "unamortised": exact(self.unamortised),
            "break_even_messages": self.break_even_messages,
            "rate_window": _window_json(self.rate_window),
            "fixed_costs": "pro-rated to the period so far" if self.projection else "whole period",
            "projection": self.projection.to_json() if self.projection else None,
            "rnd_spend": exact(self.rnd_spend),
            "rnd_to_date": exact(self.rnd_to_date),
            "deployed": list(self.deployed),
        }


@dataclass(frozen=True)
class RoiInputs:
    """The configured inputs of the outcome figures."""

    wrong_answer_penalty: Decimal
    unconfirmed_answer_rate: Decimal
    recontact_window_h: int

    def to_json(self) -> dict[str, Any]:
        return {
            "wrong_answer_penalty": str(self.wrong_answer_penalty),
            "unconfirmed_answer_rate": str(self.unconfirmed_answer_rate),
            "recontact_window_h": self.recontact_window_h,
        }


@dataclass(frozen=True)
class Projection:
    """The current period if it runs to its end: fixed costs for the whole period."""

    end: datetime
    idle: Money
    training_amortised: Money

    def to_json(self) -> dict[str, Any]:
        return {
            "to": self.end.isoformat(),
            "idle": exact(self.idle),
            "training_amortised": exact(self.training_amortised),
        }


def _window_json(window: Period | None) -> dict[str, str] | None:
    if window is None:
        return None
    return {"from": window.start.isoformat(), "to": window.end.isoformat()}


ROI_SOURCES = {
    "resolved": MEASURED,
    "escalated": MEASURED,
    "calls": MEASURED,
    "cost": "inference + idle hardware + training amortised + wrong answers",
    "operating": "inference + idle hardware",
    "roi": "derived: (value - cost) / cost",
    "payback_days": "derived: unamortised training / daily (value - operating - wrong "
    "answers) over the rate window (whole days)",
    "break_even_per_month": "derived: monthly fixed cost / margin per message",
    "value": "measured: confirmed + contained conversations × human_ticket_cost of the price "
    "sheet when each was opened",
    "value_measured": "measured: confirmed + contained conversations × human_ticket_cost",
    "value_assumed": "configured: unsettled answered conversations × human_ticket_cost × "
    "roi.unconfirmed_answer_rate (not in ROI)",
    "wrong_answers": "measured reopened conversations × (human_ticket_cost + "
    "roi.wrong_answer_penalty, configured)",
    "outcomes": "measured: conversations opened in the period, by outcome",
    "containment_rate": "measured: (contained + confirmed) / settled conversations",
    "recontact_rate": "measured: reopened / settled conversations",
    "escalation_rate": "measured: escalated / settled conversations",
    "unamortised": "training cost not yet amortised at the period's end",
    "break_even_messages": "derived: contained conversations to earn back the unamortised "
    "training cost, at the margin of the rate window",
    "inference": "inference records (see measured_share)",
    "idle": IDLE_SOURCE,
    "training_amortised": "deployed training runs (measured/estimated) and the dataset "
    "versions they used (each once), from first deployment, over configured months",
    "training_total": "one-off cost of the deployed runs and their dataset versions",
    "rnd_spend": "training runs not deployed by the period's end (and dataset versions only "
    "they used), finished in the period; not in ROI",
    "rnd_to_date": "the same R&D spend up to the period's end; not in ROI",
    "deployed": "task@version of each run whose adapter an inference record carried",
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
    """Value from measured outcomes, cost, ROI, payback and break-even volume for a period."""
    window = resolve_period(period, now=now, timezone=timezone)
    costs = cost_report(session_factory, period=window, group_by=None, now=now, prices=prices)
    messages = count_outcomes(session_factory, period=window)
    offs = one_offs(session_factory, before=window.end, currency=costs.currency)
    runs = list(offs.amortised)
    months = roi_settings.training_amortisation_months
    amortised = _amortised(runs, window, months=months)
    convs = conversation_outcomes(
        session_factory, period=window, now=now, window=roi_settings.recontact_window
    )
    value = outcome_value(convs, prices=prices, roi_settings=roi_settings)
    training_total = sum((r.cost for r in runs), Money(0))
    remainder = unamortised(runs, at=window.end, months=months)
    operating = costs.total_with_idle
    cost = operating + amortised + value.wrong
    rate = trailing_rate(
        session_factory, period=window, now=now, prices=prices, roi_settings=roi_settings
    )
    revenue, revenue_roi, ratio = _revenue(session_factory, window, prices=prices, cost=cost)
    return RoiReport(
        start=window.start,
        end=window.end,
        timezone=window.timezone,
        currency=costs.currency,
        resolved=messages["resolved"],
        escalated=messages["escalated"],
        calls=costs.total.count,
        value=value.measured,
        inference_cost=costs.total.total,
        idle=costs.idle,
        training_amortised=amortised,
        training_total=training_total,
        roi=roi(value.measured, cost),
        payback_days=payback_days(one_off=remainder, net_per_day=rate.net_per_day),
        break_even_per_month=_break_even(
            costs,
            rate=rate,
            window=window,
            training_monthly=Money(training_total.pico // months),
        ),
        measured_share=costs.measured_share,
        revenue=revenue,
        revenue_roi=revenue_roi,
        revenue_cost_ratio=ratio,
        sources=ROI_SOURCES,
        ticket_costs=_tickets(prices, window),
        amortisation_months=months,
        outcomes=count(convs),
        value_assumed=value.assumed,
        wrong_answers=value.wrong,
        unamortised=remainder,
        break_even_messages=break_even_messages(
            remainder=remainder, margin_per_conversation=rate.margin
        ),
        rate_window=rate.window,
        projection=_projection(runs, window, costs=costs, months=months),
        inputs=RoiInputs(
            roi_settings.wrong_answer_penalty,
            roi_settings.unconfirmed_answer_rate,
            roi_settings.recontact_window_h,
        ),
        rnd_spend=offs.rnd_between(window.start, window.end),
        rnd_to_date=offs.rnd_total,
        deployed=offs.deployed,
    )


def _tickets(prices: PriceBook, window: Period) -> tuple[Decimal, ...]:
    """The human ticket costs on the price sheets valid in the period (distinct, in order)."""
    segments = prices.segments(window.start, window.end)
    return tuple(dict.fromkeys(sheet.human_ticket_cost for _, _, sheet in segments))


def _amortised(runs: list[OneOff], window: Period, *, months: int) -> Money:
    shares = (amortised_share(r, start=window.start, end=window.end, months=months) for r in runs)
    return sum(shares, Money(0))


def _projection(
    runs: list[OneOff], window: Period, *, costs: CostReport, months: int
) -> Projection | None:
    """For a period still running: idle and amortisation as if it ran to its end."""
    if window.full_end is None or window.full_end <= window.end:
        return None
    scale = (window.full_end - window.start) / (window.end - window.start)
    full = Period(window.start, window.full_end, window.timezone)
    return Projection(
        end=window.full_end,
        idle=Money(round(costs.idle.pico * scale)),
        training_amortised=_amortised(runs, full, months=months),
    )


@dataclass(frozen=True)
class OutcomeValue:
    """What a period's conversations were worth and what wrong answers cost."""

    measured: Money
    assumed: Money
    wrong: Money
    tickets: tuple[Decimal, ...]


def outcome_value(
    convs: list[ConversationOutcome], *, prices: PriceBook, roi_settings: RoiSettings
) -> OutcomeValue:
    """Measured value (confirmed + contained), assumed value (unsettled answered conversations
    × the configured rate) and the cost of wrong answers (reopened: a ticket + the penalty);
    each at the ticket cost on the price sheet valid when the conversation was opened."""
    measured, assumed, wrong, tickets = Money(0), Money(0), Money(0), []
    for conv in convs:
        ticket = prices.sheet_at(conv.opened_at).prices.human_ticket_cost
        tickets.append(ticket)
        if conv.outcome in ("confirmed", "contained"):
            measured += Money.from_decimal(ticket)
        elif conv.outcome == "pending" and conv.answered_by_template:
            assumed += Money.from_decimal(ticket * roi_settings.unconfirmed_answer_rate)
        elif conv.outcome == "reopened":
            wrong += Money.from_decimal(ticket + roi_settings.wrong_answer_penalty)
    return OutcomeValue(measured, assumed, wrong, tuple(dict.fromkeys(tickets)))


@dataclass(frozen=True)
class Rate:
    """Net value per day and margin per conversation over whole days (never minutes of today)."""

    window: Period
    net_per_day: Money
    margin: Money | None


def trailing_rate(
    session_factory: SessionFactory,
    *,
    period: Period,
    now: datetime,
    prices: PriceBook,
    roi_settings: RoiSettings,
) -> Rate:
    """The rate payback and break-even rest on: over the period's whole local days, or the
    whole day before it when it has none (e.g. `today`)."""
    window = day_window(period)
    costs = cost_report(session_factory, period=window, group_by=None, now=now, prices=prices)
    convs = conversation_outcomes(
        session_factory, period=window, now=now, window=roi_settings.recontact_window
    )
    value = outcome_value(convs, prices=prices, roi_settings=roi_settings)
    net = value.measured.pico - costs.total_with_idle.pico - value.wrong.pico
    days = max(round(window.days), 1)
    contained = sum(1 for c in convs if c.outcome in ("confirmed", "contained"))
    margin = None
    if contained:
        margin = Money(
            (value.measured.pico - costs.total.total.pico - value.wrong.pico) // contained
        )
    return Rate(window, Money(net // days), margin)


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
    costs: CostReport, *, rate: Rate, window: Period, training_monthly: Money
) -> int | None:
    """Conversations a month whose margin covers a month of fixed cost (amortisation + idle)."""
    if rate.margin is None:
        return None
    idle_monthly = Money(round(costs.idle.pico * DAYS_PER_MONTH / window.days))
    return break_even_per_month(
        fixed_per_month=training_monthly + idle_monthly,
        value_per_message=rate.margin,
        cost_per_message=Money(0),
    )


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
    value = _value_per_day(
        session_factory, period=period, now=now, prices=prices, roi_settings=roi_settings
    )
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
    session_factory: SessionFactory,
    *,
    period: Period,
    now: datetime,
    prices: PriceBook,
    roi_settings: RoiSettings,
) -> dict[str, Money]:
    """Per local day: measured value (confirmed + contained conversations opened that day)."""
    convs = conversation_outcomes(
        session_factory, period=period, now=now, window=roi_settings.recontact_window
    )
    values: dict[str, Money] = defaultdict(Money.zero)
    for conv in convs:
        if conv.outcome in ("confirmed", "contained"):
            ticket = prices.sheet_at(conv.opened_at).prices.human_ticket_cost
            values[period.local_day(conv.opened_at).isoformat()] += Money.from_decimal(ticket)
    return values
