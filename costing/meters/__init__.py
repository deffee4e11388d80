"""Energy backends, one module each: NVML, RAPL, and time × watts estimates."""

from costing.meters.base import EnergyBackend, MeterStatus
from costing.meters.estimate import CpuTimeEstimate, GpuTimeEstimate
from costing.meters.nvml import GpuStats, NvmlMeter, NvmlReader
from costing.meters.rapl import RaplMeter

__all__ = [
    "CpuTimeEstimate",
    "EnergyBackend",
    "GpuStats",
    "GpuTimeEstimate",
    "MeterStatus",
    "NvmlMeter",
    "NvmlReader",
    "RaplMeter",
]
