"""How every figure is shown, in one place: the CLI, the console, Discord, charts and the demo
all call these, so the same database shows the same figures everywhere.

Text is for people; JSON and the wire carry exact values instead (``exact``: a decimal string).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from costing.units import Carbon, Energy, Money

PER_MESSAGES = 1000
SIGNIFICANT = 3
_ENERGY_UNITS = ((Decimal(3_600_000), "kWh"), (Decimal(1000), "kJ"), (Decimal(1), "J"))
_MASS_UNITS = ((Decimal(1000), "kg"), (Decimal(1), "g"), (Decimal("0.001"), "mg"))


def exact(amount: Money) -> str:
    """Money as an exact decimal string, never in exponent form (for JSON and the wire)."""
    return format(amount.amount.normalize(), "f") if amount.pico else "0"


def number(value: Decimal | float | int, *, digits: int = SIGNIFICANT) -> str:
    """A number with `digits` significant digits, grouped by thousands, never in exponent form."""
    value = Decimal(str(value))
    if value == 0:
        return "0"
    places = max(digits - 1 - value.adjusted(), 0)
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{shown:,.{places}f}"


def money(amount: Money, currency: str) -> str:
    """Money with its currency: cents from 1 up (``66.00 USD``), below that its 3 significant
    digits (``0.0149 USD``, ``0.000000375 USD``), so no amount ever reads as zero."""
    value = amount.amount
    if value == 0:
        return f"0 {currency}"
    if abs(value) >= 1:
        return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,} {currency}"
    shown = number(value)
    return f"{shown.rstrip('0').rstrip('.') if '.' in shown else shown} {currency}"


def per_thousand(amount: Money, messages: int, currency: str) -> str:
    """A tiny cost as what 1,000 such messages cost (``0.383 USD per 1,000 messages``)."""
    if messages <= 0:
        return "n/a (no messages)"
    scaled = Money(amount.pico * PER_MESSAGES // messages)
    return f"{money(scaled, currency)} per {PER_MESSAGES:,} messages"


def percent(ratio: float | Decimal | None) -> str:
    """A ratio as a percentage (ROI 5.97 → ``597%``); n/a when there is none."""
    if ratio is None:
        return "n/a"
    pct = Decimal(str(ratio)) * 100
    shown = pct.quantize(Decimal("0.1") if abs(pct) < 100 else Decimal(1), ROUND_HALF_EVEN)
    return f"{shown:,}%"


def energy(amount: Energy) -> str:
    """Energy in the unit its size wants: ``287 mJ``, ``6.67 J``, ``1.2 kJ``, ``3.4 kWh``."""
    joules = Decimal(amount.microjoules) / 1_000_000
    if joules == 0:
        return "0 J"
    if abs(joules) < 1:
        return f"{number(joules * 1000)} mJ"
    for size, unit in _ENERGY_UNITS:
        if abs(joules) >= size:
            return f"{number(joules / size)} {unit}"
    return f"{number(joules)} J"


def co2(mass: Carbon) -> str:
    """CO2-equivalent in the unit its size wants: ``59.9 µg``, ``1.39 mg``, ``2.1 g``, ``3 kg``."""
    grams = Decimal(mass.nanograms) / 1_000_000_000
    if grams == 0:
        return "0 g"
    for size, unit in _MASS_UNITS:
        if abs(grams) >= size:
            return f"{number(grams / size)} {unit}"
    return f"{number(grams * 1_000_000)} µg"


def duration(seconds: float) -> str:
    """A duration in the unit its size wants: ``37.2 ms``, ``12.0 s``, ``42.1 days``."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:,.1f} days"


def days(count: float | None) -> str:
    """A number of days (payback), n/a when never."""
    return "n/a (never at this rate)" if count is None else duration(count * 86_400)


def moment(when: datetime, timezone: str) -> str:
    """A time in the configured zone, the zone named: ``2026-11-22 06:26 (Europe/London)``."""
    return f"{when.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} ({timezone})"


def period(start: datetime, end: datetime, timezone: str) -> str:
    """A half-open period in the configured zone: ``2026-11-22 00:00 to 2026-11-22 22:41 (UTC)``."""
    zone = ZoneInfo(timezone)
    first, last = start.astimezone(zone), end.astimezone(zone)
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} ({timezone})"


def share(part: float) -> str:
    """A share as a whole percentage (``42%``)."""
    return f"{part:.0%}"
