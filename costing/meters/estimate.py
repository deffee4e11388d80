"""Estimates from time × configured watts, for machines without a readable energy counter."""

from __future__ import annotations

from decimal import Decimal

from costing.measurement import EnergyMethod, EnergyReading
from costing.units import Energy


class CpuTimeEstimate:
    """CPU energy ≈ process CPU seconds × watts per busy core."""

    component = "cpu"
    max_watts: float | None = None

    def __init__(self, watts_per_core: Decimal | float) -> None:
        self.watts_per_core = Decimal(str(watts_per_core))

    def begin(self) -> None:
        """Nothing to snapshot: the window's CPU seconds come from the caller."""
        return None

    def end(self, start: None, *, wall_s: float, cpu_s: float) -> EnergyReading:
        """CPU seconds × watts per core, marked as an estimate."""
        energy = Energy.from_power_and_time(watts=self.watts_per_core, seconds=max(cpu_s, 0.0))
        return EnergyReading("cpu", energy, EnergyMethod.CPU_TIME_ESTIMATE)

    def close(self) -> None:
        """Nothing to release."""


class GpuTimeEstimate:
    """GPU energy ≈ window (GPU-held) seconds × the GPU's configured watts."""

    component = "gpu"
    max_watts: float | None = None

    def __init__(self, watts: Decimal | float) -> None:
        self.watts = Decimal(str(watts))

    def begin(self) -> None:
        """Nothing to snapshot: the window's wall time comes from the caller."""
        return None

    def end(self, start: None, *, wall_s: float, cpu_s: float) -> EnergyReading:
        """Wall seconds × GPU watts, marked as an estimate."""
        energy = Energy.from_power_and_time(watts=self.watts, seconds=max(wall_s, 0.0))
        return EnergyReading("gpu", energy, EnergyMethod.GPU_TIME_ESTIMATE)

    def close(self) -> None:
        """Nothing to release."""
