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


def unamortised(one_offs: list[OneOff], *, at: datetime, months: int) -> Money:
    """What of the one-off costs is not yet amortised at a moment."""
    done = (amortised_share(o, start=o.finished_at, end=at, months=months) for o in one_offs)
    return sum((o.cost for o in one_offs), Money(0)) - sum(done, Money(0))


def payback_days(*, one_off: Money, net_per_day: Money) -> float | None:
    """Days until the net value per day (value − running cost) covers the one-off remainder;
    None: never (the bot does not earn its running cost)."""
    if net_per_day.pico <= 0:
        return None
    return one_off.pico / net_per_day.pico


def break_even_messages(*, remainder: Money, margin_per_conversation: Money | None) -> int | None:
    """Contained conversations whose margin earns back the remainder; None: no margin."""
    if margin_per_conversation is None or margin_per_conversation.pico <= 0:
        return None
    return math.ceil(remainder.pico / margin_per_conversation.pico)


def break_even_per_month(
    *, fixed_per_month: Money, value_per_message: Money, cost_per_message: Money
) -> int | None:
    """Messages per month at which value covers cost; None when a message costs its value."""
    margin = value_per_message.pico - cost_per_message.pico
    if margin <= 0:
        return None
    return math.ceil(fixed_per_month.pico / margin)
