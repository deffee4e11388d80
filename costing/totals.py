"""Sums of inference costs: one accumulator used by the job, the reports and the budgets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from costing import histogram
from costing.cost_model import Provenance, source_of_method

# The columns of inference_record the fold reads; rows are read by these names, never by position.
RAW_COLUMNS = (
    "id",
    "created_at",
    "model_name",
    "model_version",
    "tasks",
    "source_kind",
    "command",
    "channel_id",
    "input_tokens",
    "input_chars",
    "truncated",
    "queue_ms",
    "compute_ms",
    "energy_uj",
    "energy_method",
    "cost_compute_pico",
    "cost_energy_pico",
    "cost_hardware_pico",
    "cost_data_pico",
    "co2_ng",
)


# The columns of support_outcome the fold reads (by name).
OUTCOME_COLUMNS = ("id", "created_at", "source_kind", "channel_id", "outcome")


@dataclass
class Totals:
    """Additive sums of inference records (money in pico, energy in µJ, CO2 in ng)."""

    count: int = 0
    input_tokens: int = 0
    input_chars: int = 0
    truncated: int = 0
    latency_ms_sum: float = 0.0
    energy_uj: int = 0
    energy_measured_uj: int = 0
    cost_compute_pico: int = 0
    cost_energy_pico: int = 0
    cost_energy_counter_pico: int = 0
    cost_energy_power_time_pico: int = 0
    cost_hardware_pico: int = 0
    cost_data_pico: int = 0
    co2_ng: int = 0
    resolved: int = 0
    escalated: int = 0
    latency_histogram: dict[str, int] = field(default_factory=dict)

    @property
    def total_pico(self) -> int:
        return (
            self.cost_compute_pico
            + self.cost_energy_pico
            + self.cost_hardware_pico
            + self.cost_data_pico
        )

    def add(self, other: Totals) -> Totals:
        """Add another accumulator (in place; returned for chaining)."""
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        histogram.merge(self.latency_histogram, other.latency_histogram)
        return self

    def add_row(self, row: Any) -> None:
        """Add one inference_record row (its RAW_COLUMNS read by name)."""
        latency = float(row.queue_ms) + float(row.compute_ms)
        self.count += 1
        self.input_tokens += row.input_tokens
        self.input_chars += row.input_chars
        self.truncated += int(bool(row.truncated))
        self.latency_ms_sum += latency
        self.energy_uj += row.energy_uj
        self.cost_compute_pico += row.cost_compute_pico
        self.cost_energy_pico += row.cost_energy_pico
        self.cost_hardware_pico += row.cost_hardware_pico
        self.cost_data_pico += row.cost_data_pico
        self.co2_ng += row.co2_ng
        self._add_provenance(
            source=_source(row.energy_method),
            energy_uj=row.energy_uj,
            energy_pico=row.cost_energy_pico,
        )
        histogram.add(self.latency_histogram, (latency,))

    def add_outcome(self, row: Any) -> None:
        """Add one support_outcome row (its OUTCOME_COLUMNS read by name)."""
        if row.outcome == "resolved":
            self.resolved += 1
        elif row.outcome == "escalated":
            self.escalated += 1

    def _add_provenance(self, *, source: Provenance, energy_uj: int, energy_pico: int) -> None:
        if source.measured:
            self.energy_measured_uj += energy_uj
        if source is Provenance.ENERGY_COUNTER:
            self.cost_energy_counter_pico += energy_pico
        elif source is Provenance.POWER_X_TIME:
            self.cost_energy_power_time_pico += energy_pico

    def column_values(self) -> dict[str, Any]:
        """The values as CostRollup columns."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_columns(cls, row: Any) -> Totals:
        """An accumulator from an object with CostRollup's column attributes."""
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values["latency_histogram"] = dict(values["latency_histogram"] or {})
        return cls(**values)


_SUMMED = tuple(f.name for f in fields(Totals) if f.name != "latency_histogram")
SUMMED_COLUMNS = _SUMMED


@lru_cache(maxsize=256)
def _source(energy_method: str) -> Provenance:
    return source_of_method(energy_method)
