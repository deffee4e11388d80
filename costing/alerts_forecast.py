"""Alerts read from the forecast and the daily history: a budget projected to run out this month,
and a day whose spend jumps above its trailing baseline (a spike), with what drove it.

Each alert has a claim key (costing.claims.claim_alert), so each is posted once per channel: a
projected alert once per budget, month and limit (a changed limit is a new key, so the alert is
re-armed), a spike once per day.
"""

from __future__ import annotations

import logging
import statistics
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from costing.budgets import list_budgets
from costing.errors import CostingError
from costing.forecast import (
    BudgetOutlook,
    ForecastInputs,
    budget_outlook,
    days_period,
    read_series,
)
from costing.periods import parse_period, zone_of
from costing.readers import read_totals
from costing.units import PICO

log = logging.getLogger(__name__)
DRIVER_GROUPS = ("command", "channel", "model")
MIN_BASELINE_DAYS = 7


@dataclass(frozen=True)
class ProjectedAlert:
    """A budget projected to reach its limit on `outlook.exhaustion_date` this month."""

    outlook: BudgetOutlook
    month: str

    @property
    def key(self) -> str:
        """The claim key: budget, month and limit (at most 32 characters)."""
        budget = self.outlook.budget
        limit = zlib.crc32(str(budget.limit.pico).encode())
        return f"proj:{budget.id}:{self.month}:{limit:08x}"


@dataclass(frozen=True)
class Driver:
    """The group whose spend rose most on a spike day, against its mean day in the window."""

    group: str
    label: str
    spend: Decimal
    usual: Decimal


@dataclass(frozen=True)
class SpikeAlert:
    """A day's spend above median + k × MAD of the trailing window of whole days."""

    day: date
    partial: bool  # the day is today, so far
    spend: Decimal
    median: Decimal
    mad: Decimal
    k: Decimal
    window_days: int
    drivers: tuple[Driver, ...]

    @property
    def threshold(self) -> Decimal:
        return self.median + self.k * self.mad

    @property
    def key(self) -> str:
        """The claim key: one spike alert per day."""
        return f"spike:{self.day.isoformat()}"


def projected_alerts(inputs: ForecastInputs) -> list[ProjectedAlert]:
    """Budgets under their limit now but projected to reach it this month. A budget that cannot
    be projected (another currency, too little history) is logged and skipped."""
    today = inputs.now.astimezone(zone_of(inputs.timezone)).date()
    found = []
    for budget in list_budgets(inputs.session_factory):
        try:
            outlook = budget_outlook(inputs, budget, today=today)
        except CostingError as error:
            log.info("no forecast alert for budget %d: %s", budget.id, error)
            continue
        if outlook.exhaustion_date is not None and outlook.spent < budget.limit.amount:
            found.append(ProjectedAlert(outlook, today.strftime("%Y-%m")))
    return found


def robust_baseline(values: list[float]) -> tuple[Decimal, Decimal]:
    """Median and median absolute deviation (unscaled) of daily spends."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return _dec(median), _dec(mad)


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def spike_alerts(inputs: ForecastInputs) -> list[SpikeAlert]:
    """Spikes on yesterday (whole) and today (so far): spend > median + k × MAD of the
    `spike_window_days` whole days before it (from the first day with costs; at least 7)."""
    today = inputs.now.astimezone(zone_of(inputs.timezone)).date()
    found = []
    for day in (today - timedelta(days=1), today):
        alert = _spike_on(inputs, day=day, partial=day == today)
        found.extend([alert] if alert else [])
    return found


def _spike_on(inputs: ForecastInputs, *, day: date, partial: bool) -> SpikeAlert | None:
    settings = inputs.settings
    window = read_series(
        inputs.session_factory,
        today=day,
        days=settings.spike_window_days,
        timezone=inputs.timezone,
    ).values
    if len(window) < MIN_BASELINE_DAYS:
        return None
    median, mad = robust_baseline(list(window))
    spend = _day_spend(inputs, day=day, group_by=None).get("all", Decimal(0))
    if spend <= median + settings.spike_mad_k * mad:
        return None
    drivers = tuple(_driver(inputs, day=day, group=g, days=len(window)) for g in DRIVER_GROUPS)
    return SpikeAlert(day, partial, spend, median, mad, settings.spike_mad_k, len(window), drivers)


def _day_spend(inputs: ForecastInputs, *, day: date, group_by: str | None) -> dict[str, Decimal]:
    """Spend per group label on one local day (until now when it is today)."""
    period = parse_period(f"{day}..{day}", now=inputs.now, timezone=inputs.timezone)
    sums = read_totals(inputs.session_factory, period=period, group_by=group_by)
    return {label: Decimal(t.total_pico) / PICO for label, t in sums.items()}


def _driver(inputs: ForecastInputs, *, day: date, group: str, days: int) -> Driver:
    """The label of `group` whose spend on `day` rose most above its mean day in the window."""
    spends = _day_spend(inputs, day=day, group_by=group)
    first = day - timedelta(days=days)
    window = days_period(first, day - timedelta(days=1), timezone=inputs.timezone)
    before = read_totals(inputs.session_factory, period=window, group_by=group)
    usual = {label: Decimal(t.total_pico) / PICO / days for label, t in before.items()}
    label = max(spends, key=lambda name: (spends[name] - usual.get(name, Decimal(0)), name))
    return Driver(group, label, spends[label], usual.get(label, Decimal(0)))
