"""Meter a window of work (a batch, a training run): wall time, process CPU time, energy.

``build_meter`` picks the best backend the machine has per component: NVML for the GPU the
model runs on (else GPU seconds × configured watts), RAPL for the CPU packages (else process
CPU seconds × configured watts per core). A ``CostMeter`` holds no per-window state, so
windows may overlap and be opened from any thread; see docs/metering.md for what CPU time
and RAPL energy mean when they do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from costing.measurement import EnergyReading, Measurement
from costing.meters.base import EnergyBackend, MeterStatus
from costing.meters.estimate import CpuTimeEstimate, GpuTimeEstimate
from costing.meters.nvml import GpuStats, NvmlMeter, probe_nvml
from costing.meters.rapl import POWERCAP_ROOT, probe_rapl

Clock = Callable[[], float]
log = logging.getLogger(__name__)
# A counter reading is believed only up to the device's power bound over the window plus this
# much time (NVML's counter is quantised to steps of up to 100 ms).
BOUND_SLACK_S = 0.1
DEFAULT_CPU_WATTS_PER_CORE = Decimal("10")  # costing.settings.MeterSettings' defaults
DEFAULT_GPU_WATTS = Decimal("350")


class WindowOpenError(RuntimeError):
    """A window's measurement was asked for before the window closed."""


@dataclass(frozen=True)
class WindowStart:
    """The token ``start`` returns: clocks and each backend's snapshot at the window's start."""

    wall: float
    cpu: float
    snapshots: tuple[Any, ...]


READ_ERROR = "read_error"
NEGATIVE_ENERGY = "negative_energy"
ABOVE_POWER_BOUND = "above_power_bound"


class _Failed:
    """A backend's snapshot when its `begin` raised: the window falls back to the estimate."""

    def __init__(self, error: Exception) -> None:
        self.detail = type(error).__name__


class Window:
    """What ``CostMeter.window`` yields; filled in when the ``with`` block ends."""

    def __init__(self) -> None:
        self._measurement: Measurement | None = None
        self.gpu_stats: GpuStats | None = None

    @property
    def measurement(self) -> Measurement:
        """The window's measurement; raise WindowOpenError while the block still runs."""
        if self._measurement is None:
            raise WindowOpenError("the window is still open: read it after the with block")
        return self._measurement


class CostMeter:
    """Times and energy of windows of work, through one backend per component.

    Measuring never fails the work: a backend that raises, or reads a negative energy or more
    than its device's power bound allows over the window, is replaced for that window by the
    time × watts estimate of its component, and the reading says why (`EnergyReading.fallback`).
    """

    def __init__(
        self,
        *,
        device: str,
        backends: Sequence[EnergyBackend[Any]],
        sync: Callable[[], None] | None = None,
        statuses: Sequence[MeterStatus] = (),
        wall_clock: Clock = time.perf_counter,
        cpu_clock: Clock = time.process_time,
        fallbacks: Mapping[str, EnergyBackend[None]] | None = None,
    ) -> None:
        self.device = device
        self.backends = tuple(backends)
        self.fallbacks = dict(fallbacks) if fallbacks is not None else _default_fallbacks()
        self.statuses = list(statuses)
        self._warned: set[tuple[str, str]] = set()
        self._sync = sync
        self._wall_clock = wall_clock
        self._cpu_clock = cpu_clock

    def start(self) -> WindowStart:
        """Synchronise the device, then snapshot the clocks and counters."""
        if self._sync is not None:
            self._sync()
        snapshots = tuple(_begin(backend) for backend in self.backends)
        return WindowStart(self._wall_clock(), self._cpu_clock(), snapshots)

    def stop(self, token: WindowStart) -> Measurement:
        """Synchronise the device, then measure everything since `token`."""
        if self._sync is not None:
            self._sync()
        wall_s = self._wall_clock() - token.wall
        cpu_s = self._cpu_clock() - token.cpu
        readings = tuple(
            self._reading(backend, snapshot, wall_s=wall_s, cpu_s=cpu_s)
            for backend, snapshot in zip(self.backends, token.snapshots, strict=True)
        )
        gpu_s = wall_s if self.device.startswith("cuda") else 0.0
        return Measurement(wall_s, cpu_s, gpu_s, self.device, readings)

    def _reading(
        self, backend: EnergyBackend[Any], snapshot: Any, *, wall_s: float, cpu_s: float
    ) -> EnergyReading:
        """The backend's reading, or the estimate with the reason when it cannot be believed."""
        times = {"wall_s": wall_s, "cpu_s": cpu_s}
        if isinstance(snapshot, _Failed):
            return self._fallback(backend, READ_ERROR, snapshot.detail, **times)
        try:
            reading = backend.end(snapshot, **times)
        except Exception as error:  # any meter fault (OSError, ValueError, NVMLError, …)
            return self._fallback(backend, READ_ERROR, type(error).__name__, **times)
        problem = implausible(reading, max_watts=backend.max_watts, wall_s=wall_s)
        if problem is not None:
            return self._fallback(
                backend, problem, str(reading.energy.microjoules) + " µJ", **times
            )
        return reading

    def _fallback(
        self, backend: EnergyBackend[Any], reason: str, detail: str, *, wall_s: float, cpu_s: float
    ) -> EnergyReading:
        estimate = self.fallbacks[backend.component]
        reading = estimate.end(None, wall_s=wall_s, cpu_s=cpu_s)
        if (backend.component, reason) not in self._warned:  # once each: it may recur per batch
            self._warned.add((backend.component, reason))
            log.warning(
                "%s meter %s: %s (%s); such windows' energy is estimated",
                backend.component,
                type(backend).__name__,
                reason,
                detail,
            )
        return replace(reading, fallback=reason)

    @contextmanager
    def window(self) -> Iterator[Window]:
        """Meter the ``with`` block; the block's exceptions propagate, but it is still measured."""
        window = Window()
        token = self.start()
        try:
            yield window
        finally:
            window._measurement = self.stop(token)
            window.gpu_stats = self.gpu_stats()

    def gpu_stats(self) -> GpuStats | None:
        """Utilisation and memory of the metered GPU now, where NVML reads it."""
        for backend in self.backends:
            if isinstance(backend, NvmlMeter):
                return backend.reader.stats()
        return None

    def close(self) -> None:
        """Release the backends (NVML, the RAPL poller)."""
        for backend in self.backends:
            backend.close()


def build_meter(
    *,
    device: str,
    cpu_watts_per_core: Decimal | float,
    gpu_watts: Decimal | float,
    sync: Callable[[], None] | None,
    powercap_root: Path = POWERCAP_ROOT,
    env: Mapping[str, str] = os.environ,
    shared_host: bool = False,
) -> CostMeter:
    """A meter for work on `device` (``cpu``, ``cuda``, ``cuda:N``) using what this machine has;
    with `shared_host` (other metered processes on the same devices) the device-wide counters
    are left unused and energy is estimated from this process's own seconds."""
    on_gpu = device.startswith("cuda")
    if on_gpu and sync is None:
        raise ValueError("GPU work is asynchronous: pass sync, e.g. torch.cuda.synchronize")
    backends: list[EnergyBackend[Any]] = []
    nvml, nvml_status = _unless_shared(probe_nvml(device, env=env, detect_step=True), shared_host)
    if on_gpu:
        backends.append(nvml if nvml is not None else GpuTimeEstimate(gpu_watts))
    rapl, rapl_status = _unless_shared(probe_rapl(powercap_root), shared_host)
    backends.append(rapl if rapl is not None else CpuTimeEstimate(cpu_watts_per_core))
    statuses = [nvml_status, rapl_status, *_estimate_statuses(on_gpu)]
    fallbacks = _default_fallbacks(cpu_watts_per_core=cpu_watts_per_core, gpu_watts=gpu_watts)
    return CostMeter(
        device=device, backends=backends, sync=sync, statuses=statuses, fallbacks=fallbacks
    )


SHARED_HOST = (
    "not used: other metered processes share this device (meter.shared_host), and its counter "
    "would charge each the whole device; energy is estimated from this process's own seconds"
)


def _unless_shared(probed: tuple[Any, MeterStatus], shared: bool) -> tuple[Any, MeterStatus]:
    """A probed device-wide backend, or none (closed) when the device is shared."""
    backend, status = probed
    if not shared:
        return backend, status
    if backend is not None:
        backend.close()
    return None, status._replace(available=False, reason=SHARED_HOST)


def implausible(reading: EnergyReading, *, max_watts: float | None, wall_s: float) -> str | None:
    """Why a reading cannot be true (negative, or above the power bound), else None."""
    microjoules = reading.energy.microjoules
    if microjoules < 0:
        return NEGATIVE_ENERGY
    if max_watts is not None and microjoules > max_watts * (max(wall_s, 0.0) + BOUND_SLACK_S) * 1e6:
        return ABOVE_POWER_BOUND
    return None


def _begin(backend: EnergyBackend[Any]) -> Any:
    try:
        return backend.begin()
    except Exception as error:  # any meter fault: this window falls back to the estimate
        return _Failed(error)


def _default_fallbacks(
    *,
    cpu_watts_per_core: Decimal | float = DEFAULT_CPU_WATTS_PER_CORE,
    gpu_watts: Decimal | float = DEFAULT_GPU_WATTS,
) -> dict[str, EnergyBackend[None]]:
    return {"cpu": CpuTimeEstimate(cpu_watts_per_core), "gpu": GpuTimeEstimate(gpu_watts)}


def describe_meters(
    *,
    device: str = "cuda",
    powercap_root: Path = POWERCAP_ROOT,
    env: Mapping[str, str] = os.environ,
) -> list[MeterStatus]:
    """Which meters this machine offers for work on `device`, and why the others are not."""
    nvml, nvml_status = probe_nvml(device, env=env)
    rapl, rapl_status = probe_rapl(powercap_root)
    for backend in (nvml, rapl):
        if backend is not None:
            backend.close()
    return [nvml_status, rapl_status, *_estimate_statuses(device.startswith("cuda"))]


def _estimate_statuses(on_gpu: bool) -> list[MeterStatus]:
    cpu = MeterStatus(
        "cpu-time-estimate", True, "process CPU seconds × cpu_watts_per_core, where rapl is not"
    )
    if on_gpu:
        gpu = MeterStatus("gpu-time-estimate", True, "GPU seconds × gpu_watts, where nvml is not")
    else:
        gpu = MeterStatus("gpu-time-estimate", False, "the model does not run on a GPU")
    return [cpu, gpu]
