"""The cost report: what inference cost in a period, in total and per group, plus idle owned
hardware, every figure with where it came from.

``measured`` (an energy counter or power reading, a count of records), ``estimated`` (CPU/GPU
time × configured watts) or ``configured`` (a price). ``to_json`` carries exact values: money as
decimal strings, energy in µJ and CO2 in ng as integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from costing.figures import exact
from costing.periods import Period, parse_period
from costing.prices import PriceBook
from costing.readers import Scope, check_group, read_totals
from costing.totals import Totals
from costing.units import PICO, Carbon, Energy, Money
from storage.db import SessionFactory

MEASURED, ESTIMATED, CONFIGURED = "measured", "estimated", "configured"
IDLE_SOURCE = (
    "configured: paid hours (owned: amortisation per calendar hour; cloud: instance price per "
    "hour) minus the busy work attributed to records"
)


def share(part: int, whole: int) -> float:
    """part / whole, 0 when there is no whole."""
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
        return share(measured.pico, self.total.pico)

    @property
    def energy_source(self) -> str:
        """measured, estimated, or mixed (with the measured share of energy)."""
        if self.energy_used.microjoules and self.energy_measured == self.energy_used:
            return MEASURED
        if self.energy_measured.microjoules == 0:
            return ESTIMATED
        measured = share(self.energy_measured.microjoules, self.energy_used.microjoules)
        return f"mixed ({measured:.0%} measured)"

    def components(self) -> tuple[tuple[str, Money, str], ...]:
        """(name, amount, where it came from) for compute, energy, hardware and data."""
        return (
            ("compute", self.compute, "measured time × configured price"),
            ("energy", self.energy, f"{self.energy_source} energy × configured price"),
            ("hardware", self.hardware, "measured time × configured amortisation"),
            ("data", self.data, CONFIGURED),
        )

    @property
    def co2_source(self) -> str:
        """Where the CO2 figure came from."""
        return f"{self.energy_source} energy × configured grid intensity"

    def to_json(self) -> dict[str, Any]:
        """The line as JSON-ready data."""
        return {
            "key": self.key,
            "count": self.count,
            "input_tokens": self.input_tokens,
            "cost": exact(self.total),
            "energy_uj": self.energy_used.microjoules,
            "energy_measured_uj": self.energy_measured.microjoules,
            "co2_ng": self.co2.nanograms,
            "cost_by_component": {name: exact(amount) for name, amount, _ in self.components()},
            "cost_by_provenance": {k: exact(v) for k, v in self.by_provenance.items()},
            "measured_share": self.measured_share,
            "latency_ms_mean": self.latency_ms_mean,
            "sources": {
                "count": MEASURED,
                "energy_uj": self.energy_source,
                "co2_ng": self.co2_source,
                "cost_by_component": {name: source for name, _, source in self.components()},
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
        return share(measured.pico, self.total_with_idle.pico)

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
            "idle": exact(self.idle),
            "idle_hours": self.idle_hours,
            "total_with_idle": exact(self.total_with_idle),
            "cost_per_inference": exact(per) if per is not None else None,
            "measured_share": self.measured_share,
            "groups": [line.to_json() for line in self.groups],
            "sources": {"idle": IDLE_SOURCE},
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
    idle, idle_hours = idle_cost(prices, period=window, line=line)
    return CostReport(
        start=window.start,
        end=window.end,
        timezone=window.timezone,
        currency=prices.currency(window.start, window.end),
        group_by=group,
        total=line,
        groups=tuple(CostLine.from_totals(k, v) for k, v in groups),
        idle=idle if scope is None else Money(0),
        idle_hours=idle_hours if scope is None else 0.0,
    )


def idle_cost(book: PriceBook, *, period: Period, line: CostLine) -> tuple[Money, float]:
    """The machine's paid hours not covered by the busy work of the records, and its hours.

    Paid: owned hardware's amortisation per calendar hour, or a cloud instance's configured
    price per hour (none set: nothing is paid idle). Busy: the records' hardware money (owned)
    or compute money (cloud), as the paid sheets price it.
    """
    calendar, owned, cloud = Decimal(0), False, False
    for start, end, sheet in book.segments(period.start, period.end):
        hours = Decimal((end - start).total_seconds()) / 3600
        calendar += hours * sheet.paid_hour
        owned, cloud = owned or sheet.owned, cloud or bool(sheet.paid_hour and not sheet.owned)
    if calendar == 0:
        return Money(0), 0.0
    busy = (line.hardware if owned else Money(0)) + (line.compute if cloud else Money(0))
    paid = round(calendar * PICO)
    idle = max(Money(paid) - busy, Money(0))
    return idle, period.hours * idle.pico / paid
