"""The NVML meter's rules, with a fake NVML-like reader: short windows, no counter, sync order."""

from __future__ import annotations

import pytest

from costing.measurement import EnergyMethod
from costing.metering import CostMeter
from costing.meters.nvml import (
    DEFAULT_COUNTER_STEP_S,
    NvmlMeter,
    _meter_for,
    detect_counter_step,
    nvml_target,
    probe_nvml,
)
from tests.metering.fakes import FakeClock, FakeNvml


def gpu_meter(fake: FakeNvml, clock: FakeClock, *, use_counter: bool = True) -> CostMeter:
    backend = NvmlMeter(fake, use_counter=use_counter, counter_min_window_s=0.1)
    sync = lambda: fake.events.append("sync")  # noqa: E731
    return CostMeter(
        device="cuda:0", backends=[backend], sync=sync, wall_clock=clock, cpu_clock=clock
    )


def test_window_shorter_than_a_counter_step_uses_power_times_time() -> None:
    fake, clock = FakeNvml(energy_mj=5_000, power_mw=250_000), FakeClock()
    meter = gpu_meter(fake, clock)
    token = meter.start()
    clock.advance(0.05)
    fake.energy += 40  # the counter may or may not have stepped; a short window ignores it
    (reading,) = meter.stop(token).readings
    assert reading.method is EnergyMethod.NVML_POWER_X_TIME
    assert reading.energy.microjoules == 12_500_000  # 250 W × 0.05 s


def test_window_of_a_step_or_more_uses_the_counter() -> None:
    fake, clock = FakeNvml(energy_mj=5_000, power_mw=250_000), FakeClock()
    meter = gpu_meter(fake, clock)
    token = meter.start()
    clock.advance(0.2)
    fake.energy += 30_000
    measurement = meter.stop(token)
    (reading,) = measurement.readings
    assert (reading.component, reading.method) == ("gpu", EnergyMethod.NVML_COUNTER)
    assert reading.energy.microjoules == 30_000_000
    assert measurement.gpu_s == pytest.approx(0.2)
    assert measurement.energy_measured


def test_counter_that_did_not_move_falls_back_to_power() -> None:
    fake, clock = FakeNvml(power_mw=100_000), FakeClock()
    meter = gpu_meter(fake, clock)
    token = meter.start()
    clock.advance(0.3)
    (reading,) = meter.stop(token).readings
    assert reading.method is EnergyMethod.NVML_POWER_X_TIME
    assert reading.energy.microjoules == 30_000_000


def test_gpu_without_counter_always_uses_power_and_never_reads_it() -> None:
    fake, clock = FakeNvml(power_mw=70_000), FakeClock()
    fake.counter_supported = False
    meter = gpu_meter(fake, clock, use_counter=False)
    token = meter.start()
    clock.advance(2.0)
    (reading,) = meter.stop(token).readings
    assert reading.method is EnergyMethod.NVML_POWER_X_TIME
    assert reading.energy.microjoules == 140_000_000
    assert "energy" not in fake.events


def test_device_is_synchronised_before_every_read() -> None:
    fake, clock = FakeNvml(), FakeClock()
    meter = gpu_meter(fake, clock)
    with meter.window() as window:
        clock.advance(0.2)
        fake.energy += 10
    assert fake.events[:2] == ["sync", "energy"]
    assert fake.events[2:4] == ["sync", "energy"]
    assert window.gpu_stats is not None and window.gpu_stats.utilisation_pct == 87


def test_probe_without_counter_offers_power_times_time() -> None:
    fake = FakeNvml()
    fake.counter_supported = False
    meter, status = _meter_for(fake, "Tesla P100", detect_step=False)
    assert meter is not None and not meter.use_counter
    assert status.available and "power × time" in status.reason


def test_probe_without_power_is_unavailable_and_releases_nvml() -> None:
    fake = FakeNvml()
    fake.power_supported = False
    meter, status = _meter_for(fake, "Some GPU", detect_step=False)
    assert meter is None and not status.available and fake.closed


def test_probe_without_step_detection_assumes_the_slowest_step() -> None:
    fake = FakeNvml()
    meter, status = _meter_for(fake, "H100", detect_step=False)
    assert meter is not None and meter.counter_min_window_s == DEFAULT_COUNTER_STEP_S
    assert "100 ms" in status.reason


def test_step_detection_times_two_successive_updates() -> None:
    clock = FakeClock(0.0)

    def counter() -> int:
        clock.advance(0.001)
        return int(clock.now / 0.02) * 7  # steps every 20 ms

    step = detect_counter_step(counter, clock=clock, timeout_s=0.35)
    assert step == pytest.approx(0.02, abs=0.0011)


def test_step_detection_gives_up_on_a_frozen_counter() -> None:
    clock = FakeClock(0.0)

    def frozen() -> int:
        clock.advance(0.001)
        return 42

    assert detect_counter_step(frozen, clock=clock, timeout_s=0.35) is None


@pytest.mark.parametrize(
    ("device", "visible", "expected"),
    [
        ("cuda", None, 0),
        ("cuda:1", None, 1),
        ("cuda:1", "2,3", 3),
        ("cuda:0", "GPU-8f6c1a2e-0000", "GPU-8f6c1a2e-0000"),
    ],
)
def test_torch_device_maps_to_nvml_index_or_uuid(
    device: str, visible: str | None, expected: int | str
) -> None:
    assert nvml_target(device, visible) == expected


def test_device_hidden_by_cuda_visible_devices_is_unavailable() -> None:
    meter, status = probe_nvml("cuda:0", env={"CUDA_VISIBLE_DEVICES": ""})
    assert meter is None and not status.available
    assert "CUDA_VISIBLE_DEVICES" in status.reason


def test_cpu_device_does_not_probe_nvml() -> None:
    meter, status = probe_nvml("cpu")
    assert meter is None and "cpu" in status.reason
