"""The cost model: C = compute + energy + hardware (amortised) + data, exact integer units."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from costing.measurement import EnergyMethod, Measurement
from costing.prices import Prices
from costing.units import PICO, Carbon, Energy, Money

MICROJOULES_PER_KWH = Decimal(3_600_000_000_000)
SECONDS_PER_HOUR = Decimal(3600)
COMPONENTS = ("compute", "energy", "hardware", "data")
SPLIT_COLUMNS = (
    "cost_compute_pico",
    "cost_energy_pico",
    "cost_hardware_pico",
    "cost_data_pico",
    "co2_ng",
    "energy_uj",
)


class Provenance(StrEnum):
    """Where an amount came from, most trustworthy first."""

    ENERGY_COUNTER = "energy-counter"
    POWER_X_TIME = "power-x-time"
    CPU_TIME_ESTIMATE = "cpu-time-estimate"
    GPU_TIME_ESTIMATE = "gpu-time-estimate"
    CONFIGURED_PRICE = "configured-price"

    @property
    def measured(self) -> bool:
        return self in (Provenance.ENERGY_COUNTER, Provenance.POWER_X_TIME)


@dataclass(frozen=True)
class CostBreakdown:
    """The cost of one window of work by component, with CO2 and where each amount came from."""

    compute: Money
    energy: Money
    hardware: Money
    data: Money
    co2: Carbon
    energy_used: Energy
    energy_source: Provenance = Provenance.CPU_TIME_ESTIMATE

    @property
    def total(self) -> Money:
        return self.compute + self.energy + self.hardware + self.data

    @property
    def provenance(self) -> dict[str, str]:
        """Each amount's source: energy money and CO2 follow the energy figure."""
        configured = Provenance.CONFIGURED_PRICE.value
        return {
            "compute": configured,
            "energy": self.energy_source.value,
            "hardware": configured,
            "data": configured,
            "co2": self.energy_source.value,
        }

    def record_columns(self) -> dict[str, int]:
        """The InferenceRecord / TrainingRun column values for this cost."""
        return {
            "energy_uj": self.energy_used.microjoules,
            "cost_compute_pico": self.compute.pico,
            "cost_energy_pico": self.energy.pico,
            "cost_hardware_pico": self.hardware.pico,
            "cost_data_pico": self.data.pico,
            "co2_ng": self.co2.nanograms,
        }


@dataclass(frozen=True)
class _Rates:
    energy_pico_per_uj: Decimal
    co2_ng_per_uj: Decimal
    cpu_pico_per_s: Decimal
    gpu_pico_per_s: Decimal
    hardware_pico_per_s: Decimal


@lru_cache(maxsize=64)
def _rates(prices: Prices) -> _Rates:
    facility = prices.pue / MICROJOULES_PER_KWH
    cloud = not prices.owned
    per_s = PICO / SECONDS_PER_HOUR
    return _Rates(
        # A cloud price includes the power: energy money only where the hardware is owned.
        energy_pico_per_uj=Decimal(0) if cloud else facility * prices.electricity_kwh * PICO,
        co2_ng_per_uj=facility * prices.grid_gco2_kwh * 1_000_000_000,
        cpu_pico_per_s=prices.cpu_core_hour * per_s if cloud else Decimal(0),
        gpu_pico_per_s=prices.gpu_hour * per_s if cloud else Decimal(0),
        hardware_pico_per_s=Decimal(0) if cloud else prices.hardware_hour * per_s,
    )


def energy_source(methods: set[EnergyMethod]) -> Provenance:
    """The provenance of an energy figure: the least trustworthy method used decides."""
    if EnergyMethod.CPU_TIME_ESTIMATE in methods or not methods:
        return Provenance.CPU_TIME_ESTIMATE
    if EnergyMethod.GPU_TIME_ESTIMATE in methods:
        return Provenance.GPU_TIME_ESTIMATE
    if EnergyMethod.NVML_POWER_X_TIME in methods:
        return Provenance.POWER_X_TIME
    return Provenance.ENERGY_COUNTER


def source_of_method(energy_method: str) -> Provenance:
    """The provenance of a stored ``energy_method`` string such as ``nvml-counter+rapl``."""
    known = {m.value: m for m in EnergyMethod}
    return energy_source({known[p] for p in energy_method.split("+") if p in known})


def price_measurement(
    measurement: Measurement, prices: Prices, *, data: Money | None = None
) -> CostBreakdown:
    """Price one measured window of work with a price sheet (data cost: a configured amount)."""
    rates = _rates(prices)
    energy = measurement.energy
    compute = rates.cpu_pico_per_s * Decimal(measurement.cpu_s)
    compute += rates.gpu_pico_per_s * Decimal(measurement.gpu_s)
    return CostBreakdown(
        compute=Money(round(compute)),
        energy=Money(round(rates.energy_pico_per_uj * energy.microjoules)),
        hardware=Money(round(rates.hardware_pico_per_s * Decimal(measurement.wall_s))),
        data=data or Money(0),
        co2=Carbon(round(rates.co2_ng_per_uj * energy.microjoules)),
        energy_used=energy,
        energy_source=energy_source({r.method for r in measurement.readings}),
    )


def training_data_cost(
    prices: Prices, *, items: int, labels: int, storage_gb_months: Decimal = Decimal(0)
) -> Money:
    """The one-off data cost of a training set: collection, annotation, storage."""
    amount = prices.data_collection_per_item * items + prices.data_annotation_per_label * labels
    return Money.from_decimal(amount + prices.data_storage_gb_month * storage_gb_months)


def split_cost(breakdown: CostBreakdown, weights: list[int]) -> list[CostBreakdown]:
    """Split a batch cost over items by weight; parts sum exactly to the total per component."""
    source = breakdown.energy_source
    return [
        CostBreakdown(Money(c), Money(e), Money(h), Money(d), Carbon(g), Energy(u), source)
        for c, e, h, d, g, u in zip(*_split_all(breakdown, weights), strict=True)
    ]


def split_record_columns(breakdown: CostBreakdown, weights: list[int]) -> list[dict[str, int]]:
    """split_cost as InferenceRecord column values (the fast path for large batches)."""
    parts = zip(*_split_all(breakdown, weights), strict=True)
    return [dict(zip(SPLIT_COLUMNS, part, strict=True)) for part in parts]


def split_total(total: int, weights: list[int]) -> list[int]:
    """Integer shares of `total` by weight (all-zero weights: equal), summing exactly to it;
    ValueError for no weights or a negative one."""
    if not weights or any(w < 0 for w in weights):
        raise ValueError("weights must be a non-empty list of non-negative integers")
    return _largest_remainder(total, weights if sum(weights) else [1] * len(weights))


def _split_all(breakdown: CostBreakdown, weights: list[int]) -> list[list[int]]:
    if not weights or any(w < 0 for w in weights):
        raise ValueError("weights must be a non-empty list of non-negative integers")
    if sum(weights) == 0:
        weights = [1] * len(weights)
    totals = (
        breakdown.compute.pico,
        breakdown.energy.pico,
        breakdown.hardware.pico,
        breakdown.data.pico,
        breakdown.co2.nanograms,
        breakdown.energy_used.microjoules,
    )
    return [_largest_remainder(total, weights) for total in totals]


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Integer shares of total proportional to weights, summing exactly to total."""
    whole = sum(weights)
    pairs = [divmod(total * w, whole) for w in weights]
    shares = [share for share, _ in pairs]
    leftover = total - sum(shares)
    if leftover:
        remainders = [remainder for _, remainder in pairs]
        # Stable sort: equal remainders keep item order, so the result is deterministic.
        order = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
        for i in order[:leftover]:
            shares[i] += 1
    return shares
