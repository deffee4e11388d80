"""The service's bridge to costing's meter: one metered window per batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

from costing.measurement import Measurement
from costing.metering import CostMeter, build_meter
from storage.settings import PriceSettings

T = TypeVar("T")


def service_meter(device: str, prices: PriceSettings) -> CostMeter:
    """The best meter this machine has for work on `device`, synchronising a GPU before reads."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    return build_meter(
        device=device,
        cpu_watts_per_core=prices.cpu_watts_per_core,
        gpu_watts=prices.gpu_watts,
        sync=sync,
    )


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
