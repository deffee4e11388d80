"""What a meter reports for one window of work (a batch, a training run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from costing.units import Energy


class EnergyMethod(StrEnum):
    """How an energy figure was obtained, from most to least trustworthy."""

    NVML_COUNTER = "nvml-counter"  # NVML total-energy counter difference (measured)
    NVML_POWER_X_TIME = "nvml-power-x-time"  # NVML power reading × window (measured power)
    RAPL = "rapl"  # Intel/AMD RAPL energy counter (measured)
    CPU_TIME_ESTIMATE = "cpu-time-estimate"  # CPU seconds × configured watts (estimated)
    GPU_TIME_ESTIMATE = "gpu-time-estimate"  # GPU seconds × configured watts (estimated)

    @property
    def measured(self) -> bool:
        return self not in (EnergyMethod.CPU_TIME_ESTIMATE, EnergyMethod.GPU_TIME_ESTIMATE)


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one component (cpu or gpu) over a window, with how it was obtained."""

    component: str
    energy: Energy
    method: EnergyMethod
    # Why this is an estimate standing in for the component's meter (it raised or read an
    # impossible value in this window), else None.
    fallback: str | None = None


@dataclass(frozen=True)
class Measurement:
    """Resources one window of work used: times, and energy per component."""

    wall_s: float
    cpu_s: float
    gpu_s: float = 0.0
    device: str = "cpu"
    readings: tuple[EnergyReading, ...] = field(default_factory=tuple)

    @property
    def energy(self) -> Energy:
        """Total energy over all components (IT energy, before PUE)."""
        return sum((r.energy for r in self.readings), Energy(0))

    @property
    def energy_method(self) -> str:
        """The methods used, e.g. ``nvml-counter+cpu-time-estimate``; stored with each record."""
        return "+".join(sorted({r.method.value for r in self.readings})) or "none"

    @property
    def energy_measured(self) -> bool:
        """True only when every component's energy came from a counter or power reading."""
        return bool(self.readings) and all(r.method.measured for r in self.readings)
