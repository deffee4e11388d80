from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.cost_model import (
    CostBreakdown,
    Provenance,
    price_measurement,
    source_of_method,
    split_cost,
    split_record_columns,
    training_data_cost,
)
from costing.measurement import EnergyMethod, EnergyReading, Measurement
from costing.prices import Prices
from costing.settings import PriceSettings
from costing.units import Carbon, Energy, Money

CLOUD = Prices.from_settings(PriceSettings())
OWNED = Prices.from_settings(PriceSettings(hardware="owned"))


def _measurement(*methods: EnergyMethod, joules: int = 36, cpu_s: float = 2.0) -> Measurement:
    readings = tuple(
        EnergyReading(f"c{i}", Energy.from_joules(joules), m) for i, m in enumerate(methods)
    )
    return Measurement(wall_s=1.0, cpu_s=cpu_s, gpu_s=0.5, readings=readings)


def test_energy_money_and_co2_scale_with_pue_price_and_grid() -> None:
    m = _measurement(EnergyMethod.RAPL)
    cost = price_measurement(m, OWNED)
    kwh = m.energy.kwh * OWNED.pue
    assert cost.energy == Money.from_decimal(kwh * OWNED.electricity_kwh)
    assert cost.co2 == Carbon.from_grams(kwh * OWNED.grid_gco2_kwh)
    assert cost.energy_used == m.energy
    assert cost.energy_source is Provenance.ENERGY_COUNTER


def test_a_cloud_price_includes_the_power_but_co2_is_still_counted() -> None:
    m = _measurement(EnergyMethod.RAPL)  # 36 J
    cost = price_measurement(m, CLOUD)
    assert cost.energy == Money(0)
    # 36 J × PUE 1.56 = 56.16 J = 1.56e-5 kWh; × 481 g/kWh = 7.5036 mg
    assert cost.co2 == Carbon(7_503_600)
    assert cost.total == cost.compute


def test_cloud_prices_cpu_and_gpu_time_and_no_hardware() -> None:
    cost = price_measurement(_measurement(EnergyMethod.RAPL), CLOUD)
    expected = (CLOUD.cpu_core_hour * 2 + CLOUD.gpu_hour * Decimal("0.5")) / 3600
    assert cost.compute == Money.from_decimal(expected)
    assert cost.hardware == Money(0)


def test_owned_hardware_is_amortised_over_wall_time_and_compute_is_free() -> None:
    cost = price_measurement(_measurement(EnergyMethod.RAPL), OWNED)
    assert cost.compute == Money(0)
    assert cost.hardware == Money.from_decimal(OWNED.hardware_hour / 3600)
    assert cost.hardware.pico > 0


@pytest.mark.parametrize(
    ("methods", "source"),
    [
        ((EnergyMethod.NVML_COUNTER, EnergyMethod.RAPL), Provenance.ENERGY_COUNTER),
        ((EnergyMethod.NVML_POWER_X_TIME, EnergyMethod.RAPL), Provenance.POWER_X_TIME),
        ((EnergyMethod.NVML_COUNTER, EnergyMethod.CPU_TIME_ESTIMATE), Provenance.CPU_TIME_ESTIMATE),
        ((EnergyMethod.GPU_TIME_ESTIMATE,), Provenance.GPU_TIME_ESTIMATE),
        ((), Provenance.CPU_TIME_ESTIMATE),
    ],
)
def test_the_least_trustworthy_method_decides_provenance(
    methods: tuple[EnergyMethod, ...], source: Provenance
) -> None:
    measurement = _measurement(*methods)
    assert price_measurement(measurement, CLOUD).energy_source is source
    assert source_of_method(measurement.energy_method) is source


def test_provenance_names_each_amount() -> None:
    cost = price_measurement(_measurement(EnergyMethod.NVML_COUNTER), CLOUD)
    assert cost.provenance["energy"] == cost.provenance["co2"] == "energy-counter"
    assert cost.provenance["compute"] == "configured-price"


def test_training_data_cost_adds_collection_annotation_storage() -> None:
    prices = Prices.from_settings(PriceSettings(data_collection_per_item=Decimal("0.01")))
    cost = training_data_cost(prices, items=100, labels=300, storage_gb_months=Decimal(2))
    expected = Decimal("0.01") * 100 + prices.data_annotation_per_label * 300
    assert cost == Money.from_decimal(expected + prices.data_storage_gb_month * 2)


def test_pricing_a_measurement_takes_well_under_a_millisecond() -> None:
    measurement = _measurement(EnergyMethod.NVML_COUNTER, EnergyMethod.RAPL)
    price_measurement(measurement, CLOUD)
    started = time.perf_counter()
    for _ in range(1000):
        price_measurement(measurement, CLOUD)
    assert (time.perf_counter() - started) / 1000 < 1e-3


amounts = st.integers(min_value=0, max_value=10**15)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.tuples(amounts, amounts, amounts, amounts, amounts, amounts),
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=64),
)
def test_split_parts_sum_exactly_to_the_total(parts: tuple[int, ...], weights: list[int]) -> None:
    compute, energy, hardware, data, co2, uj = parts
    whole = CostBreakdown(
        Money(compute),
        Money(energy),
        Money(hardware),
        Money(data),
        Carbon(co2),
        Energy(uj),
        Provenance.POWER_X_TIME,
    )
    split = split_cost(whole, weights)
    assert len(split) == len(weights)
    assert sum(p.compute.pico for p in split) == compute
    assert sum(p.energy.pico for p in split) == energy
    assert sum(p.hardware.pico for p in split) == hardware
    assert sum(p.data.pico for p in split) == data
    assert sum(p.co2.nanograms for p in split) == co2
    assert sum(p.energy_used.microjoules for p in split) == uj
    total_weight = sum(weights) or len(weights)
    for part, weight in zip(split, weights or [1], strict=True):
        share = compute * (weight if sum(weights) else 1) / total_weight
        assert abs(part.compute.pico - share) < 1
        assert part.energy_source is Provenance.POWER_X_TIME


@pytest.mark.parametrize("weights", [[], [1, -1]])
def test_split_refuses_empty_or_negative_weights(weights: list[int]) -> None:
    whole = price_measurement(_measurement(EnergyMethod.RAPL), CLOUD)
    with pytest.raises(ValueError, match="weights"):
        split_cost(whole, weights)


def test_split_record_columns_match_split_cost() -> None:
    whole = price_measurement(_measurement(EnergyMethod.RAPL, joules=7), CLOUD)
    weights = [3, 0, 11, 5, 5]
    columns = split_record_columns(whole, weights)
    assert columns == [part.record_columns() for part in split_cost(whole, weights)]
    assert sum(c["cost_energy_pico"] for c in columns) == whole.energy.pico
