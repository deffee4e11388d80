"""Windows on every meter this machine has, and the composite meter's behaviour."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costing.measurement import EnergyMethod, Measurement
from costing.metering import CostMeter, WindowOpenError, build_meter, describe_meters
from costing.meters.base import EnergyBackend
from costing.meters.estimate import CpuTimeEstimate
from costing.meters.nvml import probe_nvml
from costing.meters.rapl import RaplMeter, probe_rapl
from costing.units import Energy
from tests.metering.fakes import make_zone, set_energy

WATTS_PER_CORE = Decimal("10")
BUSY_S = 0.25  # longer than NVML's slowest counter step, so a GPU window uses the counter

MACHINE_BACKENDS = [
    pytest.param(("cpu", EnergyMethod.CPU_TIME_ESTIMATE), id="cpu-time-estimate"),
    pytest.param(("cpu", EnergyMethod.RAPL), id="rapl"),
    pytest.param(("cuda", EnergyMethod.NVML_COUNTER), id="nvml", marks=pytest.mark.gpu),
]


def machine_backend(method: EnergyMethod) -> EnergyBackend[Any]:
    """The real backend for `method`, or skip with the reason this machine lacks it."""
    if method is EnergyMethod.CPU_TIME_ESTIMATE:
        return CpuTimeEstimate(WATTS_PER_CORE)
    backend, status = (
        probe_rapl() if method is EnergyMethod.RAPL else probe_nvml("cuda", detect_step=True)
    )
    if backend is None:
        pytest.skip(f"{status.name}: {status.reason}")
    return backend


@pytest.fixture(params=MACHINE_BACKENDS)
def machine_meter(request: pytest.FixtureRequest) -> Iterator[tuple[CostMeter, EnergyMethod]]:
    device, method = request.param
    backend = machine_backend(method)
    meter = CostMeter(device=device, backends=[backend], sync=lambda: None)
    yield meter, method
    meter.close()


def busy(seconds: float) -> int:
    """Spin the CPU for `seconds` of wall time."""
    deadline, total = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        total += sum(i * i for i in range(1_000))
    return total


def test_busy_window_has_cpu_time_and_energy(machine_meter: tuple[CostMeter, EnergyMethod]) -> None:
    meter, method = machine_meter
    with meter.window() as window:
        busy(BUSY_S)
    measured = window.measurement
    assert measured.wall_s >= BUSY_S
    assert measured.cpu_s > 0
    assert measured.energy.microjoules > 0
    assert [r.method for r in measured.readings] == [method]


def test_idle_window_has_almost_no_cpu_time(machine_meter: tuple[CostMeter, EnergyMethod]) -> None:
    meter, _ = machine_meter
    with meter.window() as window:
        time.sleep(0.2)
    assert window.measurement.wall_s >= 0.2
    assert window.measurement.cpu_s < 0.02


def test_cpu_estimate_is_cpu_seconds_times_watts() -> None:
    meter = CostMeter(device="cpu", backends=[CpuTimeEstimate(WATTS_PER_CORE)])
    with meter.window() as window:
        busy(0.05)
    measured = window.measurement
    expected = Energy.from_power_and_time(watts=WATTS_PER_CORE, seconds=measured.cpu_s)
    assert measured.energy == expected
    assert measured.energy_method == "cpu-time-estimate" and not measured.energy_measured


def test_measurement_is_not_there_before_the_window_closes() -> None:
    meter = CostMeter(device="cpu", backends=[CpuTimeEstimate(1)])
    with meter.window() as window, pytest.raises(WindowOpenError):
        _ = window.measurement


def test_failed_work_is_still_measured() -> None:
    meter = CostMeter(device="cpu", backends=[CpuTimeEstimate(1)])
    with pytest.raises(ZeroDivisionError), meter.window() as window:
        busy(0.01)
        _ = 1 / 0
    assert window.measurement.wall_s >= 0.01


def test_overlapping_windows_from_threads_each_get_the_process_cpu_time() -> None:
    meter = CostMeter(device="cpu", backends=[CpuTimeEstimate(WATTS_PER_CORE)])
    results: list[Measurement] = []

    def worker() -> None:
        with meter.window() as window:
            busy(0.05)
        results.append(window.measurement)

    with meter.window() as outer:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 4 and all(m.cpu_s > 0 for m in results)
    # Process CPU time: the outer window, though its own thread idled, holds all the workers' work.
    assert all(outer.measurement.cpu_s >= m.cpu_s for m in results)


def test_build_meter_prefers_rapl_where_readable(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=1_000)
    meter = build_meter(
        device="cpu", cpu_watts_per_core=10, gpu_watts=350, sync=None, powercap_root=tmp_path
    )
    assert isinstance(meter.backends[0], RaplMeter)
    with meter.window() as window:
        set_energy(zone, 4_000)
    meter.close()
    assert window.measurement.energy_method == "rapl"
    assert window.measurement.energy.microjoules == 3_000
    assert window.measurement.gpu_s == 0.0


def test_build_meter_without_counters_estimates_both_components(tmp_path: Path) -> None:
    syncs: list[float] = []
    meter = build_meter(
        device="cuda",
        cpu_watts_per_core=10,
        gpu_watts=350,
        sync=lambda: syncs.append(time.perf_counter()),
        powercap_root=tmp_path,
        env={"CUDA_VISIBLE_DEVICES": ""},
    )
    with meter.window() as window:
        busy(0.02)
    measured = window.measurement
    gpu, cpu = measured.readings
    assert (gpu.component, gpu.method) == ("gpu", EnergyMethod.GPU_TIME_ESTIMATE)
    assert gpu.energy == Energy.from_power_and_time(watts=350, seconds=measured.wall_s)
    assert (cpu.component, cpu.method) == ("cpu", EnergyMethod.CPU_TIME_ESTIMATE)
    assert measured.gpu_s == measured.wall_s and measured.device == "cuda"
    assert len(syncs) == 2
    assert window.gpu_stats is None


def test_gpu_meter_needs_a_sync() -> None:
    with pytest.raises(ValueError, match="synchronize"):
        build_meter(device="cuda", cpu_watts_per_core=10, gpu_watts=350, sync=None)


def test_describe_meters_names_every_meter_with_a_reason(tmp_path: Path) -> None:
    make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=0)
    statuses = describe_meters(device="cpu", powercap_root=tmp_path)
    assert [s.name for s in statuses] == ["nvml", "rapl", "cpu-time-estimate", "gpu-time-estimate"]
    available = {s.name: s.available for s in statuses}
    assert available == {
        "nvml": False,
        "rapl": True,
        "cpu-time-estimate": True,
        "gpu-time-estimate": False,
    }
    assert all(s.reason for s in statuses)


def test_describe_meters_without_powercap_says_why(tmp_path: Path) -> None:
    (rapl,) = [s for s in describe_meters(powercap_root=tmp_path) if s.name == "rapl"]
    assert not rapl.available and "intel-rapl" in rapl.reason


@pytest.mark.gpu
def test_real_gpu_short_window_uses_power_and_reports_stats() -> None:
    backend = machine_backend(EnergyMethod.NVML_COUNTER)
    meter = CostMeter(device="cuda", backends=[backend], sync=lambda: None)
    with meter.window() as window:
        pass
    meter.close()
    (reading,) = window.measurement.readings
    assert reading.method is EnergyMethod.NVML_POWER_X_TIME
    assert reading.energy.microjoules > 0
    assert window.gpu_stats is not None and window.gpu_stats.memory_total_bytes > 2**30
