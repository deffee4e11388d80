"""Value and return on investment for the support scenario: pure arithmetic, no database."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from costing.units import Money

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class OneOff:
    """A one-off cost (a training run and its data), amortised from when it finished."""

    cost: Money
    finished_at: datetime


def amortised_share(one_off: OneOff, *, start: datetime, end: datetime, months: int) -> Money:
    """The part of a one-off cost that falls in [start, end), spread evenly over ``months``."""
    span = timedelta(days=DAYS_PER_MONTH * months)
    overlap = min(end, one_off.finished_at + span) - max(start, one_off.finished_at)
    if overlap <= timedelta(0):
        return Money(0)
    return Money(one_off.cost.pico * int(overlap.total_seconds()) // int(span.total_seconds()))


def roi(value: Money, cost: Money) -> float | None:
    """(value − cost) / cost; None when nothing was spent."""
    return None if cost.pico == 0 else (value.pico - cost.pico) / cost.pico


def payback_days(*, one_off: Money, value: Money, operating: Money, days: float) -> float | None:
    """Days until cumulative value covers the one-off cost plus the running cost; None: never."""
    daily_net = (value.pico - operating.pico) / days if days > 0 else 0.0
    if daily_net <= 0:
        return None
    return one_off.pico / daily_net


def break_even_per_month(
    *, fixed_per_month: Money, value_per_message: Money, cost_per_message: Money
) -> int | None:
    """Messages per month at which value covers cost; None when a message costs its value."""
    margin = value_per_message.pico - cost_per_message.pico
    if margin <= 0:
        return None
    return math.ceil(fixed_per_month.pico / margin)
