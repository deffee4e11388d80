"""The meter for model work on a device: costing's best meter, synchronising a GPU before reads."""

from __future__ import annotations

import torch

from costing.metering import CostMeter, build_meter
from costing.settings import MeterSettings


def device_meter(device: str, power: MeterSettings) -> CostMeter:
    """The best meter this machine has for work on `device` (serving batches or training)."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    return build_meter(
        device=device,
        cpu_watts_per_core=power.cpu_watts_per_core,
        gpu_watts=power.gpu_watts,
        sync=sync,
        shared_host=power.shared_host,
    )
