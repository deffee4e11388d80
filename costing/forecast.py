"""Projected cost for a period: spent so far plus a forecast of the days left, with an interval,
the method named and its backtest error; per budget, the day it is projected to run out.

The history is the whole local days before today (`forecast.history_days` of them, from the first
day with any cost); today so far is measured and counted as spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from costing import forecast_models as fm
from costing.budgets import BudgetView, list_budgets
from costing.errors import BadPeriodError, BudgetError, CostingError
from costing.periods import Period, parse_period, zone_of
from costing.readers import Scope, read_totals
from costing.settings import ForecastSettings
from costing.units import PICO
from storage.db import SessionFactory

FORECAST_PERIODS = {
    "month": "this calendar month: spent so far plus the days left",
    "7d": "the next 7 local days, today included",
    "30d": "the next 30 local days, today included",
}
DEFAULT_FORECAST_PERIOD = "month"


class ForecastPeriodError(BadPeriodError):
    """A forecast period is not one of FORECAST_PERIODS."""


class NotEnoughHistoryError(CostingError):
    """Too few days with costs to forecast."""


@dataclass(frozen=True)
class Series:
    """Daily costs in currency units, oldest first, ending the day before `today`."""

    first_day: date
    values: tuple[float, ...]

    @property
    def array(self) -> fm.Array:
        return np.array(self.values, dtype=float)

    def points(self) -> list[tuple[date, float]]:
        """(day, cost) pairs, oldest first."""
        return [(self.first_day + timedelta(days=i), v) for i, v in enumerate(self.values)]


@dataclass(frozen=True)
class Projection:
    """A forecast of a series over the days [today, last_day], added to what was spent."""

    method: fm.Method
    backtest_mape: float | None
    candidates: dict[str, float | None]
    spent: Decimal
    daily: tuple[float, ...]  # point forecast per day from today (today: its remaining part)
    low: float
    high: float
    history_days: int
    daily_low: tuple[float, ...] = ()  # per day, the same coverage as the total's interval
    daily_high: tuple[float, ...] = ()
    series: Series | None = None  # the history it was fitted on

    @property
    def projected(self) -> Decimal:
        return self.spent + _dec(sum(self.daily))


@dataclass(frozen=True)
class BudgetOutlook:
    """A monthly budget against this month's projection."""

    budget: BudgetView
    spent: Decimal
    projected: Decimal
    exhaustion_date: date | None
    projection: Projection

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data (money as decimal strings)."""
        return {
            "scope": _scope_name(self.budget.scope),
            "limit": str(self.budget.limit.amount.normalize()),
            "spent": _money_text(self.spent),
            "exceeded": self.spent >= self.budget.limit.amount,
            "projected_cost": _money_text(self.projected),
            "exhaustion_date": self.exhaustion_date.isoformat() if self.exhaustion_date else None,
        }


@dataclass(frozen=True)
class Forecast:
    """The answer of `costbot forecast`."""

    period: str
    first_day: date
    last_day: date
    today: date
    currency: str
    interval_pct: int
    projection: Projection
    history_days: int
    budgets: tuple[BudgetOutlook, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: projected_cost, interval{low,high}, method, backtest_mape, budgets."""
        p = self.projection
        return {
            "period": self.period,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "currency": self.currency,
            "spent_so_far": _money_text(p.spent),
            "projected_cost": _money_text(p.projected),
            "interval": {
                "low": _money_text(p.spent + _dec(p.low)),
                "high": _money_text(p.spent + _dec(p.high)),
                "coverage_pct": self.interval_pct,
            },
            "method": p.method.key,
            "method_description": p.method.description,
            "backtest_mape": None if p.backtest_mape is None else round(p.backtest_mape, 2),
            "backtest_mape_by_method": {
                k: None if v is None else round(v, 2) for k, v in p.candidates.items()
            },
            "history_days": self.history_days,
            "budgets": [b.to_json() for b in self.budgets],
        }


def _scope_name(scope: Scope) -> str:
    """``all``, ``model NAME`` or ``channel ID``, as a budget's scope is typed."""
    return scope.kind + (f" {scope.value}" if scope.value else "")


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _money_text(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.000001")).normalize(), "f")


def forecast_span(period: str, *, today: date) -> tuple[date, date]:
    """The first and last local day of a forecast period; ForecastPeriodError for another word."""
    name = period.strip().lower()
    if name == "month":
        next_month = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        return today.replace(day=1), next_month - timedelta(days=1)
    if name in ("7d", "30d"):
        return today, today + timedelta(days=int(name[:-1]) - 1)
    raise ForecastPeriodError(
        f"bad forecast period {period[:40]!r}: expected one of {'|'.join(FORECAST_PERIODS)}"
    )


def days_period(first: date, last: date, *, timezone: str) -> Period:
    """The whole local days first..last as a period."""
    now = datetime.combine(last + timedelta(days=2), time(0), tzinfo=UTC)
    return parse_period(f"{first}..{last}", now=now, timezone=timezone)


def read_series(
    session_factory: SessionFactory,
    *,
    today: date,
    days: int,
    timezone: str,
    scope: Scope | None = None,
) -> Series:
    """Daily costs of the `days` whole days before today, from the first day with any cost."""
    first = today - timedelta(days=days)
    period = days_period(first, today - timedelta(days=1), timezone=timezone)
    sums = read_totals(session_factory, period=period, group_by="day", scope=scope)
    values = [
        float(Decimal(sums[d.isoformat()].total_pico) / PICO) if d.isoformat() in sums else 0.0
        for d in (first + timedelta(days=i) for i in range(days))
    ]
    lead = next((i for i, v in enumerate(values) if v > 0), len(values))
    return Series(first + timedelta(days=lead), tuple(values[lead:]))


def project(
    series: Series, *, spent: Decimal, horizon: int, today_left: float, coverage_pct: int
) -> Projection:
    """Forecast `horizon` days from today; today counts only its part still to come
    (`today_left`, 0..1). NotEnoughHistoryError below one week of costs."""
    history = series.array
    if len(history) < fm.MIN_HISTORY:
        raise NotEnoughHistoryError(
            f"a forecast needs at least {fm.MIN_HISTORY} whole days with costs before today; "
            f"there are {len(history)}. Try again when the bot has run for a week"
        )
    method, scores = fm.choose_method(history)
    scale = np.ones(horizon)
    scale[0] = today_left
    daily = method.point(history, horizon) * scale
    paths = method.paths(history, horizon, fm.SIMULATIONS) * scale[:, None]
    low, high = fm.interval(paths, coverage_pct=coverage_pct)
    band = fm.daily_band(paths, coverage_pct=coverage_pct)
    return Projection(
        method,
        scores[method.key],
        scores,
        spent,
        tuple(daily),
        low,
        high,
        len(history),
        tuple(band[0]),
        tuple(band[1]),
        series,
    )


def exhaustion_date(projection: Projection, *, limit: Decimal, today: date) -> date | None:
    """The first day the cumulative projected spend reaches the limit (today if it already
    has), or None when the projection stays under it."""
    total = projection.spent
    if total >= limit:
        return today
    for offset, value in enumerate(projection.daily):
        total += _dec(value)
        if total >= limit:
            return today + timedelta(days=offset)
    return None


@dataclass(frozen=True)
class ForecastInputs:
    """Where and when: the database, the settings, the moment and the costs' currency."""

    session_factory: SessionFactory
    settings: ForecastSettings
    now: datetime
    timezone: str
    currency: str


def forecast(inputs: ForecastInputs, *, period: str = DEFAULT_FORECAST_PERIOD) -> Forecast:
    """The projected cost of a period (FORECAST_PERIODS) with its interval and per-budget
    exhaustion dates. ForecastPeriodError, NotEnoughHistoryError, or BudgetError for a budget
    kept in another currency than the costs."""
    today = inputs.now.astimezone(zone_of(inputs.timezone)).date()
    first, last = forecast_span(period, today=today)
    projection = _project_scope(inputs, first=first, last=last, today=today, scope=None)
    return Forecast(
        period=period.strip().lower(),
        first_day=first,
        last_day=last,
        today=today,
        currency=inputs.currency,
        interval_pct=inputs.settings.interval_pct,
        projection=projection,
        history_days=projection.history_days,
        budgets=tuple(budget_outlooks(inputs, today=today)),
    )


def _project_scope(
    inputs: ForecastInputs, *, first: date, last: date, today: date, scope: Scope | None
) -> Projection:
    series = read_series(
        inputs.session_factory,
        today=today,
        days=inputs.settings.history_days,
        timezone=inputs.timezone,
        scope=scope,
    )
    spent = _spent(inputs, first=first, today=today, scope=scope)
    start_of_today = parse_period("today", now=inputs.now, timezone=inputs.timezone).start
    elapsed = (inputs.now - start_of_today).total_seconds() / 86_400
    return project(
        series,
        spent=spent,
        horizon=(last - today).days + 1,
        today_left=max(0.0, 1.0 - elapsed),
        coverage_pct=inputs.settings.interval_pct,
    )


def _spent(inputs: ForecastInputs, *, first: date, today: date, scope: Scope | None) -> Decimal:
    """Measured spend from the period's first day until now (nothing when it starts today)."""
    if first > today:
        return Decimal(0)
    period = parse_period(f"{first}..{today}", now=inputs.now, timezone=inputs.timezone)
    sums = read_totals(inputs.session_factory, period=period, scope=scope)
    return Decimal(sum(t.total_pico for t in sums.values())) / PICO


def budget_outlooks(inputs: ForecastInputs, *, today: date) -> list[BudgetOutlook]:
    """Each monthly budget against this month's projection of its scope."""
    return [budget_outlook(inputs, b, today=today) for b in list_budgets(inputs.session_factory)]


def budget_outlook(inputs: ForecastInputs, budget: BudgetView, *, today: date) -> BudgetOutlook:
    """One monthly budget against this month's projection of its scope; BudgetError when it is
    kept in another currency, NotEnoughHistoryError below a week of its scope's costs."""
    check_currency(budget, currency=inputs.currency)
    first, last = forecast_span("month", today=today)
    projection = _project_scope(inputs, first=first, last=last, today=today, scope=budget.scope)
    when = exhaustion_date(projection, limit=budget.limit.amount, today=today)
    return BudgetOutlook(budget, projection.spent, projection.projected, when, projection)


def check_currency(budget: BudgetView, *, currency: str) -> None:
    """BudgetError when a budget is kept in another currency than the costs it limits."""
    if budget.currency != currency:
        name = _scope_name(budget.scope)
        raise BudgetError(
            f"the budget for {name} is in {budget.currency} but costs are priced in {currency}; "
            f"set it again in {currency} with `budget set LIMIT {name}`"
        )
