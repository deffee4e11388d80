"""A meter that fails or lies never fails the window: it falls back to the estimate, says why."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from costing.measurement import EnergyMethod, EnergyReading
from costing.metering import (
    ABOVE_POWER_BOUND,
    NEGATIVE_ENERGY,
    READ_ERROR,
    CostMeter,
    build_meter,
)
from costing.meters.estimate import CpuTimeEstimate, GpuTimeEstimate
from costing.meters.nvml import NvmlMeter
from costing.meters.rapl import RaplMeter, RaplUnavailableError, find_domains
from costing.units import Energy
from tests.metering.fakes import MAX_RANGE_UJ, FakeClock, FakeNvml, make_zone, set_energy

GPU_WATTS = Decimal("300")
CPU_WATTS = Decimal("10")


class RaisingNvml(FakeNvml):
    """An NVML reader whose energy counter raises on the reads listed in `fail_on` (1-based)."""

    def __init__(self, *, fail_on: set[int], error: Exception) -> None:
        super().__init__(energy_mj=5_000, power_mw=250_000)
        self.fail_on, self.error, self.reads = fail_on, error, 0

    def energy_mj(self) -> int:
        self.reads += 1
        if self.reads in self.fail_on:
            raise self.error
        return super().energy_mj()


class Lying:
    """A backend that reads whatever energy the test sets (e.g. a negative one)."""

    component = "cpu"
    max_watts: float | None = 200.0

    def __init__(self, microjoules: int) -> None:
        self.microjoules = microjoules

    def begin(self) -> None:
        return None

    def end(self, start: None, *, wall_s: float, cpu_s: float) -> EnergyReading:
        return EnergyReading("cpu", Energy(self.microjoules), EnergyMethod.RAPL)

    def close(self) -> None:
        return None


def meter_of(backend: object, clock: FakeClock) -> CostMeter:
    return CostMeter(
        device="cuda:0",
        backends=[backend],  # type: ignore[list-item]
        sync=lambda: None,
        wall_clock=clock,
        cpu_clock=clock,
        fallbacks={"gpu": GpuTimeEstimate(GPU_WATTS), "cpu": CpuTimeEstimate(CPU_WATTS)},
    )


@pytest.mark.parametrize("failing_read", [1, 2], ids=["at-start", "at-end"])
@pytest.mark.parametrize("error", [OSError("gone"), RuntimeError("NVML"), ValueError("junk")])
def test_a_raising_energy_read_falls_back_to_the_estimate_for_that_window(
    failing_read: int, error: Exception
) -> None:
    fake, clock = RaisingNvml(fail_on={failing_read}, error=error), FakeClock()
    meter = meter_of(NvmlMeter(fake, counter_min_window_s=0.1), clock)
    token = meter.start()
    clock.advance(0.5)
    measurement = meter.stop(token)
    (reading,) = measurement.readings
    assert (reading.method, reading.fallback) == (EnergyMethod.GPU_TIME_ESTIMATE, READ_ERROR)
    assert reading.energy.microjoules == 150_000_000  # 300 W × 0.5 s
    assert not measurement.energy_measured
    token = meter.start()  # the next window reads the counter again
    clock.advance(0.5)
    fake.energy += 100
    (reading,) = meter.stop(token).readings
    assert (reading.method, reading.fallback) == (EnergyMethod.NVML_COUNTER, None)


@pytest.mark.parametrize(
    ("microjoules", "reason"),
    [(-3_999_990_000, NEGATIVE_ENERGY), (-1, NEGATIVE_ENERGY), (10**12, ABOVE_POWER_BOUND)],
)
def test_an_impossible_reading_is_not_believed(microjoules: int, reason: str) -> None:
    clock = FakeClock()
    meter = meter_of(Lying(microjoules), clock)
    token = meter.start()
    clock.advance(1.0)
    (reading,) = meter.stop(token).readings
    assert (reading.method, reading.fallback) == (EnergyMethod.CPU_TIME_ESTIMATE, reason)
    assert reading.energy.microjoules == 10_000_000  # 1 CPU second × 10 W


def test_a_reading_within_the_power_bound_is_believed() -> None:
    clock = FakeClock()
    meter = meter_of(Lying(150_000_000), clock)  # 150 J in 1 s: under the 200 W bound
    token = meter.start()
    clock.advance(1.0)
    (reading,) = meter.stop(token).readings
    assert (reading.method, reading.fallback) == (EnergyMethod.RAPL, None)


def test_a_rapl_counter_that_jumps_back_is_an_implausible_wrap(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=4_000_000_000)
    clock = FakeClock()
    meter = meter_of(RaplMeter(find_domains(tmp_path), poll_s=3600), clock)
    token = meter.start()
    set_energy(zone, 10_000)  # not a wrap: ~258 kJ in 50 ms would be 5 MW
    clock.advance(0.05)
    (reading,) = meter.stop(token).readings
    assert (reading.method, reading.fallback) == (EnergyMethod.CPU_TIME_ESTIMATE, ABOVE_POWER_BOUND)
    assert reading.energy.microjoules >= 0


def test_an_unreadable_rapl_counter_falls_back(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=1_000)
    clock = FakeClock()
    meter = meter_of(RaplMeter(find_domains(tmp_path), poll_s=3600), clock)
    token = meter.start()
    (zone / "energy_uj").write_text("not a number\n")
    clock.advance(0.1)
    (reading,) = meter.stop(token).readings
    assert (reading.method, reading.fallback) == (EnergyMethod.CPU_TIME_ESTIMATE, READ_ERROR)


@pytest.mark.parametrize(
    ("max_range", "energy"), [(0, 4_000_000_000), (-5, 0), (1_000, 5_000)], ids=str
)
def test_zones_with_an_unusable_range_are_refused_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, max_range: int, energy: int
) -> None:
    make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=energy, max_range_uj=max_range)
    make_zone(tmp_path, "intel-rapl:1", name="package-1", energy_uj=energy)
    with caplog.at_level(logging.WARNING, logger="costing.meters.rapl"):
        domains = find_domains(tmp_path)
    assert [d.name for d in domains] == ["package-1"]
    assert len(caplog.records) == 1
    assert "intel-rapl:0" in caplog.records[0].getMessage()


def test_a_machine_with_only_unusable_zones_estimates(tmp_path: Path) -> None:
    make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=4_000_000_000, max_range_uj=0)
    with pytest.raises(RaplUnavailableError, match="usable"):
        find_domains(tmp_path)
    meter = build_meter(
        device="cpu",
        cpu_watts_per_core=CPU_WATTS,
        gpu_watts=GPU_WATTS,
        sync=None,
        powercap_root=tmp_path,
    )
    try:
        assert [type(b) for b in meter.backends] == [CpuTimeEstimate]
        rapl = next(s for s in meter.statuses if s.name == "rapl")
        assert not rapl.available and "max_energy_range_uj" in rapl.reason
    finally:
        meter.close()


def test_build_meter_falls_back_at_the_configured_watts(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=MAX_RANGE_UJ // 2)
    meter = build_meter(
        device="cpu",
        cpu_watts_per_core=Decimal("7"),
        gpu_watts=GPU_WATTS,
        sync=None,
        powercap_root=tmp_path,
    )
    try:
        with meter.window() as window:
            set_energy(zone, 10)
        (reading,) = window.measurement.readings
        assert reading.fallback == ABOVE_POWER_BOUND
        assert meter.fallbacks["cpu"].watts_per_core == Decimal("7")  # type: ignore[attr-defined]
    finally:
        meter.close()
