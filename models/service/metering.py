"""The service's bridge to costing's meter: one metered window per batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from costing.measurement import Measurement
from costing.metering import CostMeter

T = TypeVar("T")


def measured(meter: CostMeter) -> Callable[[Callable[[], T]], tuple[T, Measurement]]:
    """A function running work under one meter window and returning (result, measurement)."""

    def measure(work: Callable[[], T]) -> tuple[T, Measurement]:
        token = meter.start()
        result = work()
        return result, meter.stop(token)

    return measure


def unmetered(work: Callable[[], T]) -> tuple[T, Measurement]:
    """Run work without a meter (cost logging off, for the overhead benchmark): a zero window."""
    return work(), Measurement(wall_s=0.0, cpu_s=0.0)
