"""GPU energy from NVML (nvidia-ml-py): the total-energy counter, or power × time when too short."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from costing.measurement import EnergyMethod, EnergyReading
from costing.meters.base import MeterStatus
from costing.units import Energy

DEFAULT_COUNTER_STEP_S = 0.1  # NVML's counter updates every 10–100 ms; assume the slowest
STEP_PROBE_S = 0.35
GPU_MAX_WATTS = 1500.0  # above any single GPU board's limit: a reading above it is a fault


@dataclass(frozen=True)
class GpuStats:
    """Device-wide GPU utilisation (NVML's last sample period) and memory at one moment."""

    utilisation_pct: int
    memory_utilisation_pct: int
    memory_used_bytes: int
    memory_total_bytes: int


class NvmlReader(Protocol):
    """The few NVML queries a meter needs, for one GPU."""

    def energy_mj(self) -> int:
        """Energy since the driver loaded, in mJ."""
        ...

    def power_mw(self) -> int:
        """Board power now (on Ampere and later, averaged over about a second), in mW."""
        ...

    def stats(self) -> GpuStats:
        """Utilisation and memory now."""
        ...

    def close(self) -> None:
        """Release the library."""
        ...


class PynvmlReader:
    """NvmlReader over nvidia-ml-py for one device handle."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        self._nvml = nvml
        self._handle = handle

    def energy_mj(self) -> int:
        """nvmlDeviceGetTotalEnergyConsumption: mJ since driver load (Volta and later)."""
        return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def power_mw(self) -> int:
        """nvmlDeviceGetPowerUsage: mW."""
        return int(self._nvml.nvmlDeviceGetPowerUsage(self._handle))

    def stats(self) -> GpuStats:
        """nvmlDeviceGetUtilizationRates and nvmlDeviceGetMemoryInfo."""
        rates = self._nvml.nvmlDeviceGetUtilizationRates(self._handle)
        memory = self._nvml.nvmlDeviceGetMemoryInfo(self._handle)
        return GpuStats(int(rates.gpu), int(rates.memory), int(memory.used), int(memory.total))

    def close(self) -> None:
        """nvmlShutdown (reference-counted by the library)."""
        self._nvml.nvmlShutdown()


class NvmlMeter:
    """GPU energy: the counter difference, or power × time for windows shorter than a step."""

    component = "gpu"

    def __init__(
        self, reader: NvmlReader, *, use_counter: bool = True, counter_min_window_s: float
    ) -> None:
        self.reader = reader
        self.max_watts: float | None = GPU_MAX_WATTS
        self.use_counter = use_counter
        self.counter_min_window_s = counter_min_window_s

    def begin(self) -> int | None:
        """The counter now, or None where the GPU has no energy counter."""
        return self.reader.energy_mj() if self.use_counter else None

    def end(self, start: int | None, *, wall_s: float, cpu_s: float) -> EnergyReading:
        """The counter difference, or power × time when the window is shorter than a step."""
        if start is not None and wall_s >= self.counter_min_window_s:
            delta_mj = self.reader.energy_mj() - start
            if delta_mj > 0:
                energy = Energy.from_millijoules(delta_mj)
                return EnergyReading("gpu", energy, EnergyMethod.NVML_COUNTER)
        watts = Decimal(self.reader.power_mw()) / 1000
        energy = Energy.from_power_and_time(watts=watts, seconds=max(wall_s, 0.0))
        return EnergyReading("gpu", energy, EnergyMethod.NVML_POWER_X_TIME)

    def close(self) -> None:
        """Release NVML."""
        self.reader.close()


def detect_counter_step(
    read_mj: Callable[[], int],
    *,
    clock: Callable[[], float] = time.perf_counter,
    timeout_s: float = STEP_PROBE_S,
) -> float | None:
    """Seconds between two successive updates of the energy counter, or None if not seen."""
    deadline = clock() + timeout_s
    last = read_mj()
    changes: list[float] = []
    while len(changes) < 2 and clock() < deadline:
        value = read_mj()
        if value != last:
            changes.append(clock())
            last = value
    return changes[1] - changes[0] if len(changes) == 2 else None


def nvml_target(device: str, visible_devices: str | None) -> int | str:
    """The NVML index or UUID of a torch device such as ``cuda:1``, given CUDA_VISIBLE_DEVICES."""
    _, _, suffix = device.partition(":")
    index = int(suffix or 0)
    if visible_devices is None:
        return index
    entries = [entry.strip() for entry in visible_devices.split(",") if entry.strip()]
    if index >= len(entries):
        raise ValueError(f"{device} is not among CUDA_VISIBLE_DEVICES={visible_devices!r}")
    entry = entries[index]
    return int(entry) if entry.isdigit() else entry


def open_reader(device: str, *, env: Mapping[str, str] = os.environ) -> tuple[PynvmlReader, str]:
    """An NVML reader for `device` and its name; raise ValueError, ImportError or NVMLError."""
    target = nvml_target(device, env.get("CUDA_VISIBLE_DEVICES"))
    import pynvml  # nvidia-ml-py, the optional `gpu` extra

    pynvml.nvmlInit()
    try:
        if isinstance(target, int):
            handle = pynvml.nvmlDeviceGetHandleByIndex(target)
        else:
            handle = pynvml.nvmlDeviceGetHandleByUUID(target)
        name = pynvml.nvmlDeviceGetName(handle)
    except pynvml.NVMLError:
        pynvml.nvmlShutdown()
        raise
    return PynvmlReader(pynvml, handle), name.decode() if isinstance(name, bytes) else str(name)


def probe_nvml(
    device: str, *, env: Mapping[str, str] = os.environ, detect_step: bool = False
) -> tuple[NvmlMeter | None, MeterStatus]:
    """An NVML meter for the GPU `device` names, if it can be read, and the status line."""
    if not device.startswith("cuda"):
        return None, MeterStatus("nvml", False, f"the model runs on {device}, not a GPU")
    try:
        reader, name = open_reader(device, env=env)
    except ImportError:
        return None, MeterStatus("nvml", False, "nvidia-ml-py is not installed (extra `gpu`)")
    except Exception as error:  # pynvml.NVMLError and ValueError: NVML cannot read this GPU
        return None, MeterStatus("nvml", False, f"NVML: {error}")
    return _meter_for(reader, name, detect_step=detect_step)


def _meter_for(
    reader: NvmlReader, name: str, *, detect_step: bool
) -> tuple[NvmlMeter | None, MeterStatus]:
    try:
        reader.power_mw()
    except Exception as error:  # NVMLError_NotSupported: neither counter nor power on this GPU
        reader.close()
        return None, MeterStatus("nvml", False, f"{name}: no power reading ({error})")
    try:
        reader.energy_mj()
    except Exception as error:  # NVMLError_NotSupported: pre-Volta GPUs
        meter = NvmlMeter(reader, use_counter=False, counter_min_window_s=DEFAULT_COUNTER_STEP_S)
        return meter, MeterStatus("nvml", True, f"{name}: power × time (no counter: {error})")
    step = detect_counter_step(reader.energy_mj) if detect_step else None
    threshold = step if step is not None else DEFAULT_COUNTER_STEP_S
    meter = NvmlMeter(reader, counter_min_window_s=threshold)
    how = f"measured step {step * 1000:.0f} ms" if step is not None else "assumed step 100 ms"
    reason = f"{name}: energy counter; power × time for windows < {threshold * 1000:.0f} ms ({how})"
    return meter, MeterStatus("nvml", True, reason)
