"""Replicas on one host: a package counter (RAPL) would charge each process the whole package,
so with meter.shared_host the counter is left unused, energy is this process's own CPU seconds
× watts (estimated), and the meter's status says why."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from costing.measurement import EnergyMethod
from costing.metering import CostMeter, build_meter
from costing.meters.estimate import CpuTimeEstimate
from costing.meters.rapl import RaplMeter
from tests.metering.fakes import MAX_RANGE_UJ, make_zone, set_energy


def _meter(root: Path, *, shared: bool) -> CostMeter:
    return build_meter(
        device="cpu",
        cpu_watts_per_core=Decimal("10"),
        gpu_watts=Decimal("350"),
        sync=None,
        powercap_root=root,
        shared_host=shared,
    )


def test_a_shared_host_estimates_from_the_process_own_seconds_and_says_why(
    tmp_path: Path,
) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=MAX_RANGE_UJ // 2)
    alone, shared = _meter(tmp_path, shared=False), _meter(tmp_path, shared=True)
    try:
        assert [type(b) for b in alone.backends] == [RaplMeter]
        assert [type(b) for b in shared.backends] == [CpuTimeEstimate]
        rapl = next(s for s in shared.statuses if s.name == "rapl")
        assert not rapl.available and "shared_host" in rapl.reason
        with shared.window() as window:
            set_energy(zone, MAX_RANGE_UJ // 2 + 5_000_000)  # another replica's work, too
            sum(i * i for i in range(200_000))
        (reading,) = window.measurement.readings
        assert reading.method is EnergyMethod.CPU_TIME_ESTIMATE and not reading.method.measured
        assert 0 < reading.energy.microjoules < 5_000_000
    finally:
        alone.close()
        shared.close()
