"""RAPL reader against a real powercap-shaped file tree in tmp_path."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costing.measurement import EnergyMethod
from costing.meters.rapl import RaplMeter, RaplUnavailableError, counter_delta, find_domains
from tests.metering.fakes import MAX_RANGE_UJ, make_zone, set_energy


@given(
    max_range=st.integers(min_value=1, max_value=2**64),
    start_fraction=st.floats(min_value=0, max_value=1, exclude_max=True),
    step_fraction=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_delta_undoes_one_wrap(max_range: int, start_fraction: float, step_fraction: float) -> None:
    start = int(start_fraction * max_range) % max_range
    step = int(step_fraction * max_range) % max_range
    current = (start + step) % max_range
    assert counter_delta(start, current, max_range_uj=max_range) == step


def test_window_across_a_wrap(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=MAX_RANGE_UJ - 1_000)
    meter = RaplMeter(find_domains(tmp_path), poll_s=3600)
    start = meter.begin()
    set_energy(zone, 500)
    reading = meter.end(start, wall_s=0.01, cpu_s=0.01)
    assert reading.energy.microjoules == 1_500
    assert (reading.component, reading.method) == ("cpu", EnergyMethod.RAPL)


def test_wraps_seen_by_intermediate_reads_all_count(tmp_path: Path) -> None:
    max_range = 10_000
    zone = make_zone(
        tmp_path, "intel-rapl:0", name="package-0", energy_uj=0, max_range_uj=max_range
    )
    meter = RaplMeter(find_domains(tmp_path), poll_s=3600)
    start = meter.begin()
    for value in (9_000, 100, 9_000, 100):  # two wraps, each seen by some read in between
        set_energy(zone, value)
        meter.sample()
    assert meter.end(start, wall_s=1, cpu_s=1).energy.microjoules == 2 * max_range + 100


def test_poller_counts_wraps_no_window_saw(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=0, max_range_uj=10_000)
    meter = RaplMeter(find_domains(tmp_path), poll_s=0.005)
    start = meter.begin()
    for value in (9_000, 100, 9_000, 100):
        set_energy(zone, value)
        time.sleep(0.1)  # twenty poll periods
    reading = meter.end(start, wall_s=1, cpu_s=1)
    meter.close()
    assert reading.energy.microjoules == 20_100


def test_packages_are_summed_and_sub_zones_and_psys_ignored(tmp_path: Path) -> None:
    zone0 = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=1_000)
    zone1 = make_zone(tmp_path, "intel-rapl:1", name="package-1", energy_uj=5_000)
    dram = make_zone(tmp_path, "intel-rapl:0:2", name="dram", energy_uj=0)
    psys = make_zone(tmp_path, "intel-rapl:2", name="psys", energy_uj=0)
    meter = RaplMeter(find_domains(tmp_path), poll_s=3600)
    start = meter.begin()
    set_energy(zone0, 1_700)
    set_energy(zone1, 5_040)
    set_energy(dram, 9_999)
    set_energy(psys, 9_999)
    assert [d.name for d in meter.domains] == ["package-0", "package-1"]
    assert meter.end(start, wall_s=1, cpu_s=1).energy.microjoules == 740


def test_overlapping_windows_each_see_their_own_span(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=0)
    meter = RaplMeter(find_domains(tmp_path), poll_s=3600)
    outer = meter.begin()
    set_energy(zone, 100)
    inner = meter.begin()
    set_energy(zone, 350)
    assert meter.end(inner, wall_s=1, cpu_s=1).energy.microjoules == 250
    set_energy(zone, 400)
    assert meter.end(outer, wall_s=1, cpu_s=1).energy.microjoules == 400


def test_no_zones_says_so(tmp_path: Path) -> None:
    with pytest.raises(RaplUnavailableError, match="intel-rapl:N"):
        find_domains(tmp_path)


def test_only_psys_is_not_a_package(tmp_path: Path) -> None:
    make_zone(tmp_path, "intel-rapl:0", name="psys", energy_uj=0)
    with pytest.raises(RaplUnavailableError, match="no package zone"):
        find_domains(tmp_path)


def test_root_only_counter_is_unavailable_with_the_reason(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=0)
    (zone / "energy_uj").chmod(0o000)
    if os.access(zone / "energy_uj", os.R_OK):
        pytest.skip("running as root: every file is readable, so the refusal cannot happen")
    with pytest.raises(RaplUnavailableError, match="readable only by root"):
        find_domains(tmp_path)


def test_garbage_counter_is_unavailable(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", name="package-0", energy_uj=0)
    (zone / "energy_uj").write_text("n/a\n")
    with pytest.raises(RaplUnavailableError, match="intel-rapl:0"):
        find_domains(tmp_path)
