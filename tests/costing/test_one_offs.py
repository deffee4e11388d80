"""Cost that is what was spent, on both databases: only the deployed model is amortised, from
its first inference; other runs are R&D spend; a dataset version's annotation is charged once;
a cloud instance's idle hours are their own line; a report never sums two currencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from costing.aggregation import aggregate
from costing.cost_report import cost_report
from costing.errors import CurrencyMixError
from costing.prices import PriceBook, Prices, set_price
from costing.roi_report import roi_report
from costing.settings import PriceSettings, RoiSettings
from costing.units import Money
from models.dataset_cost import OWN, PUBLIC, dataset_entries
from storage.db import SessionFactory
from storage.tables import TrainingRun
from tests.costing.conftest import insert_rows, training_row
from tests.factories import inference_row

# One month of amortisation = 365.25 / 12 days = 2,629,800 s; one day is 86,400 / 2,629,800 of it.
ROI = RoiSettings(training_amortisation_months=1)
DAY = "2026-03-20..2026-03-20"
LATER = datetime(2026, 3, 25, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def usd(text: str) -> Money:
    return Money.from_decimal(Decimal(text))


def data(name: str, version: str, cost: str) -> dict[str, Any]:
    return {
        "name": name, "version": version, "provenance": OWN, "labels": 1,
        "annotation_pico": usd(cost).pico, "currency": "USD",
    }  # fmt: skip


def run(version: str, finished: str, cost: str, *datasets: dict[str, Any]) -> dict[str, Any]:
    return training_row(
        task="support", adapter_version=version, finished_at=at(finished),
        cost_compute_pico=usd(cost).pico, datasets=list(datasets),
    )  # fmt: skip


def served(version: str, when: str) -> dict[str, Any]:
    """An inference record answered by the support adapter of `version`."""
    return inference_row(
        created_at=at(when), adapter_versions=f"support@{version}", model_version=version
    )


def _seed(engine: Engine) -> None:
    public = {**data("banking77", "", "0"), "provenance": PUBLIC}
    insert_rows(
        engine,
        [
            # shipped: deployed 2026-03-15, five days after training ended
            run("va", "2026-03-10T00:00", "2629.8", data("own", "a", "26.298"), public),
            # an experiment in the day, never deployed; shares dataset own@a, adds own@b
            run("vb", "2026-03-20T06:00", "7", data("own", "a", "26.298"), data("own", "b", "2")),
            # trained in the day, deployed only after it: R&D as of the day's end
            run("vc", "2026-03-20T08:00", "3"),
            # an older experiment: R&D to date, not of the day
            run("vd", "2026-03-01T00:00", "1"),
        ],
        TrainingRun,
    )
    insert_rows(
        engine,
        [
            served("va", "2026-03-15T00:00"),
            served("va", "2026-03-20T10:00"),
            served("vc", "2026-03-21T00:00"),
        ],
    )


def _book(sessions: SessionFactory, **prices: Any) -> PriceBook:
    return PriceBook(sessions, defaults=PriceSettings(**prices))


def _answer(sessions: SessionFactory, period: str = DAY, now: datetime = LATER) -> Any:
    return roi_report(sessions, period=period, now=now, prices=_book(sessions), roi_settings=ROI)


def test_only_the_deployed_model_is_amortised_from_its_first_inference(
    engine: Engine, sessions: SessionFactory
) -> None:
    _seed(engine)
    answer = _answer(sessions)
    # a day of 2,629.8 (the run) + 26.298 (own@a, once): 86.4 + 0.864
    assert answer.training_amortised == usd("87.264")
    assert answer.training_total == usd("2656.098")
    assert answer.deployed == ("support@va",)
    # the day's R&D: vb 7 + own@b 2 + vc 3 (own@a was charged with the deployed model)
    assert answer.rnd_spend == usd("12")
    assert answer.rnd_to_date == usd("13")  # + vd 1
    # six days amortised at the day's end (from 03-15): 2,656.098 − 6 × 87.264
    assert answer.unamortised == usd("2132.514")
    data = answer.to_json()
    assert (data["rnd_spend"], data["rnd_to_date"], data["deployed"]) == (
        "12",
        "13",
        ["support@va"],
    )


def test_amortisation_starts_at_deployment_not_at_the_end_of_training(
    engine: Engine, sessions: SessionFactory
) -> None:
    _seed(engine)
    before = _answer(sessions, period="2026-03-12..2026-03-14")  # trained, not yet deployed
    assert before.training_amortised == Money(0) and before.deployed == ()
    assert before.rnd_spend == Money(0) and before.rnd_to_date == usd("2657.098")


def test_the_deployment_is_found_the_same_once_records_are_rolled_up(
    engine: Engine, sessions: SessionFactory
) -> None:
    _seed(engine)
    first = _answer(sessions).to_json()
    aggregate(sessions, now=LATER)
    assert aggregate(sessions, now=LATER + timedelta(minutes=2)).watermark > 0
    again = _answer(sessions).to_json()
    keys = ("training_amortised", "training_total", "unamortised", "rnd_spend", "deployed")
    assert {k: again[k] for k in keys} == {k: first[k] for k in keys}


def test_a_cloud_instance_pays_idle_hours_as_their_own_line(
    engine: Engine, sessions: SessionFactory
) -> None:
    busy = usd("0.05").pico
    insert_rows(
        engine,
        [inference_row(created_at=at(t), cost_compute_pico=busy, cost_energy_pico=0)
         for t in ("2026-03-20T09:00", "2026-03-20T15:00")],
    )  # fmt: skip
    book = _book(sessions, instance_hour=Decimal("0.5"))
    report = cost_report(sessions, period=DAY, group_by=None, now=LATER, prices=book)
    assert report.idle == usd("11.9")  # 24 h × 0.5 paid − 0.10 busy
    assert report.idle_hours == pytest.approx(23.8)
    assert report.total_with_idle == usd("12")  # what the instance cost that day
    today = cost_report(
        sessions, period="today", group_by=None, now=at("2026-03-20T12:00"), prices=book
    )
    assert today.idle == usd("5.95")  # 12 h paid so far − the 09:00 record
    without = cost_report(sessions, period=DAY, group_by=None, now=LATER, prices=_book(sessions))
    assert without.idle == Money(0)


def test_a_current_period_pro_rates_cloud_idle_with_a_projection(
    engine: Engine, sessions: SessionFactory
) -> None:
    answer = roi_report(
        sessions, period="today", now=at("2026-03-20T06:00"),
        prices=_book(sessions, instance_hour=Decimal("0.5")), roi_settings=ROI,
    )  # fmt: skip
    assert answer.idle == usd("3")  # 6 h so far
    assert answer.projection is not None and answer.projection.idle == usd("12")
    assert answer.to_json()["fixed_costs"] == "pro-rated to the period so far"


def test_a_report_never_sums_two_currencies(engine: Engine, sessions: SessionFactory) -> None:
    insert_rows(engine, [inference_row(created_at=at("2026-03-20T09:00"))])
    set_price(
        sessions, key="currency", value="EUR", now=at("2026-03-20T12:00"), changed_by="t",
        defaults=PriceSettings(),
    )  # fmt: skip
    for report in (cost_report, roi_report):
        with pytest.raises(CurrencyMixError) as error:
            kwargs = {"group_by": None} if report is cost_report else {"roi_settings": ROI}
            report(sessions, period=DAY, now=LATER, prices=_book(sessions), **kwargs)
        assert str(error.value).count("\n") == 0 and "USD then EUR" in str(error.value)
    # the days before and after the change each have one currency
    assert _answer(sessions, period="2026-03-21..2026-03-21").currency == "EUR"
    assert _answer(sessions, period="2026-03-19..2026-03-19").currency == "USD"


def test_a_training_run_in_another_currency_is_refused(
    engine: Engine, sessions: SessionFactory
) -> None:
    insert_rows(engine, [{**run("ve", "2026-03-10T00:00", "5"), "currency": "EUR"}], TrainingRun)
    with pytest.raises(CurrencyMixError, match="support@ve is in EUR but the prices are in USD"):
        _answer(sessions)


def test_public_data_costs_nothing_and_own_annotation_its_labels_once(tmp_path: Path) -> None:
    prices = Prices.from_settings(PriceSettings())  # 0.05 per label
    shipped = {e["name"]: e for e in dataset_entries(["banking77", "banking77-sentiment"], prices)}
    assert shipped["banking77"] | {"annotation_pico": 0} == shipped["banking77"]
    assert shipped["banking77"]["provenance"] == PUBLIC
    own = shipped["banking77-sentiment"]
    # 2,999 first-pass + 300 second-pass labels × 0.05 = 164.95 (its DATASHEET.md)
    assert (own["labels"], own["annotation_pico"]) == (3299, usd("164.95").pico)
    folder = tmp_path / "banking77_sentiment"
    folder.mkdir()
    (folder / "annotations.csv").write_text("row,text_sha256,label\n1,ab,negative\n")
    (folder / "second_pass.csv").write_text("row,text_sha256,first_pass,second_pass\n")
    mine = dataset_entries(["banking77-sentiment"], prices, root=tmp_path)[0]
    assert (mine["labels"], mine["annotation_pico"]) == (1, usd("0.05").pico)
    (folder / "annotations.csv").write_text("row,text_sha256,label\n1,ab,neutral\n")
    changed = dataset_entries(["banking77-sentiment"], prices, root=tmp_path)[0]
    assert changed["version"] != mine["version"]  # a new label is a new version
