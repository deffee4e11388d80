"""A training run's record: its own cost only, and the dataset versions it used, each priced
once (public data sets at zero, the team's own by its labels)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from costing.measurement import EnergyMethod, EnergyReading, Measurement
from costing.settings import PriceSettings
from costing.units import Energy, Money
from models.dataset_cost import OWN, PUBLIC
from models.training_cost import TrainingWindow, training_run


def test_a_run_lists_its_dataset_versions_and_carries_no_data_cost(tmp_path: Path) -> None:
    reading = EnergyReading("cpu", Energy.from_joules(36), EnergyMethod.CPU_TIME_ESTIMATE)
    window = TrainingWindow(measurement=Measurement(wall_s=1.0, cpu_s=3600.0, readings=(reading,)))
    corpora = {"banking77": {"own_data": False}, "out-of-scope": {"own_data": True}}
    run = training_run(
        task="support",
        adapter_dir=tmp_path,
        window=window,
        prices=PriceSettings(currency="EUR", data_annotation_per_label=Decimal("0.10")),
        details={"metrics": {"corpora": corpora}},
    )
    assert run.cost_data_pico == 0 and run.currency == "EUR"
    assert Money(run.cost_compute_pico) == Money.from_decimal(Decimal("0.045"))  # 1 core-hour
    public, own = run.datasets
    assert (public["name"], public["provenance"], public["annotation_pico"]) == (
        "banking77",
        PUBLIC,
        0,
    )
    # out_of_scope: 400 + 250 written items × 0.10 EUR
    assert (own["name"], own["provenance"], own["labels"]) == ("out-of-scope", OWN, 650)
    assert Money(own["annotation_pico"]) == Money.from_decimal(Decimal("65"))
    assert own["currency"] == "EUR" and len(own["version"]) == 12
