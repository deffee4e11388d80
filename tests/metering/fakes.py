"""Fakes for metering tests: a powercap file tree, an NVML-like reader, a settable clock."""

from __future__ import annotations

import os
from pathlib import Path

from costing.meters.nvml import GpuStats

MAX_RANGE_UJ = 262_143_328_850  # a typical Intel package's max_energy_range_uj


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_zone(
    root: Path, zone: str, *, name: str, energy_uj: int, max_range_uj: int = MAX_RANGE_UJ
) -> Path:
    """A powercap zone directory as the intel_rapl driver lays it out."""
    path = root / zone
    path.mkdir(parents=True)
    (path / "name").write_text(f"{name}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    set_energy(path, energy_uj)
    return path


def set_energy(zone: Path, energy_uj: int) -> None:
    """Overwrite the counter in place at a fixed width, as sysfs would show a new value."""
    path = zone / "energy_uj"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, f"{energy_uj:>24}\n".encode(), 0)
    finally:
        os.close(fd)


class FakeNvml:
    """An NvmlReader whose counter and power the test sets; it logs every call in `events`."""

    def __init__(self, *, energy_mj: int = 1_000, power_mw: int = 250_000) -> None:
        self.energy = energy_mj
        self.power = power_mw
        self.counter_supported = True
        self.power_supported = True
        self.events: list[str] = []
        self.closed = False

    def energy_mj(self) -> int:
        self.events.append("energy")
        if not self.counter_supported:
            raise OSError("Not Supported")
        return self.energy

    def power_mw(self) -> int:
        self.events.append("power")
        if not self.power_supported:
            raise OSError("Not Supported")
        return self.power

    def stats(self) -> GpuStats:
        self.events.append("stats")
        return GpuStats(87, 40, 3 * 2**30, 80 * 2**30)

    def close(self) -> None:
        self.closed = True
