from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from costing.aggregation import aggregate
from costing.cost_report import cost_report
from costing.errors import BadGroupError, BadPeriodError
from costing.periods import parse_period
from costing.prices import PriceBook, Prices, set_price
from costing.roi_report import roi_report
from costing.settings import PriceSettings, RoiSettings
from costing.units import Money
from storage.db import SessionFactory
from tests.costing.conftest import (
    insert_rows,
)
from tests.costing.sums import raw_sums
from tests.factories import inference_row

SETTLED = timedelta(minutes=5)
MONEY_KEYS = ("cost_compute_pico", "cost_energy_pico", "cost_hardware_pico", "cost_data_pico")


def _spread(now: datetime, count: int) -> list[dict[str, object]]:
    """Records every 37 minutes back from now, over a few channels, models and methods."""
    methods = ("cpu-time-estimate", "nvml-counter+rapl", "nvml-power-x-time+rapl")
    return [
        inference_row(
            created_at=now - timedelta(minutes=37 * i + 1),
            channel_id=[None, 11, 12][i % 3],
            model_version=f"v{i % 2}",
            command=["ask", "classify"][i % 2],
            energy_method=methods[i % 3],
            energy_uj=1000 * (i + 1),
            cost_energy_pico=300 * (i + 1),
            cost_compute_pico=7000 + i,
            co2_ng=40 * i,
        )
        for i in range(count)
    ]


def _book(sessions: SessionFactory, **prices: object) -> PriceBook:
    return PriceBook(sessions, defaults=PriceSettings(**prices))  # type: ignore[arg-type]


def _pico(line_json: dict[str, object]) -> int:
    return Money.from_decimal(str(line_json["cost"])).pico


@pytest.mark.parametrize("aggregated", [False, True])
@pytest.mark.parametrize("timezone", ["UTC", "Asia/Kolkata"])
def test_totals_and_day_groups_equal_raw_sums_before_and_after_the_job(
    engine: Engine, sessions: SessionFactory, now: datetime, aggregated: bool, timezone: str
) -> None:
    insert_rows(engine, _spread(now, 400))
    if aggregated:
        aggregate(sessions, now=now)
        aggregate(sessions, now=now + SETTLED)
        insert_rows(engine, _spread(now, 7))  # a live tail after the watermark
    period = parse_period("week", now=now, timezone=timezone)
    report = cost_report(sessions, period=period, group_by="day", now=now, prices=_book(sessions))
    raw = raw_sums(engine, start=period.start, end=period.end)
    assert report.total.count == raw["count"]
    assert report.total.total.pico == sum(raw[k] for k in MONEY_KEYS)
    assert report.total.co2.nanograms == raw["co2_ng"]
    assert report.total.energy_used.microjoules == raw["energy_uj"]
    for group in report.groups:
        start = parse_period(f"{group.key}..{group.key}", now=now, timezone=timezone)
        day = raw_sums(engine, start=start.start, end=start.end)
        assert (group.count, group.total.pico) == (day["count"], sum(day[k] for k in MONEY_KEYS))


@pytest.mark.parametrize("group_by", ["command", "channel", "model", "task"])
def test_groups_partition_the_total(
    engine: Engine, sessions: SessionFactory, now: datetime, group_by: str
) -> None:
    insert_rows(engine, _spread(now, 120))
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    report = cost_report(
        sessions, period="week", group_by=group_by, now=now, prices=_book(sessions)
    )
    assert sum(g.count for g in report.groups) == report.total.count
    assert sum(g.total.pico for g in report.groups) == report.total.total.pico
    expected = {
        "command": {"ask", "classify"},
        "channel": {"none", "11", "12"},
        "model": {"all-MiniLM-L6-v2@v0", "all-MiniLM-L6-v2@v1"},
        "task": {"intent,sentiment"},
    }
    assert {g.key for g in report.groups} == expected[group_by]


def test_money_by_provenance_and_measured_share(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    rows = _spread(now, 30)
    insert_rows(engine, rows)
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    total = cost_report(
        sessions, period="week", group_by=None, now=now, prices=_book(sessions)
    ).total
    by_method: dict[str, int] = {}
    for row in rows:
        key = str(row["energy_method"])
        by_method[key] = by_method.get(key, 0) + int(row["cost_energy_pico"])  # type: ignore[call-overload]
    assert total.energy_counter.pico == by_method["nvml-counter+rapl"]
    assert total.energy_power_time.pico == by_method["nvml-power-x-time+rapl"]
    assert total.by_provenance["cpu-time-estimate"].pico == by_method["cpu-time-estimate"]
    measured = by_method["nvml-counter+rapl"] + by_method["nvml-power-x-time+rapl"]
    assert total.measured_share == pytest.approx(measured / total.total.pico)
    assert sum(m.pico for m in total.by_provenance.values()) == total.total.pico


def test_report_json_shape(engine: Engine, sessions: SessionFactory, now: datetime) -> None:
    insert_rows(engine, _spread(now, 10))
    data = cost_report(
        sessions, period="today", group_by="channel", now=now, prices=_book(sessions)
    ).to_json()
    assert {"from", "to", "total", "groups", "idle", "measured_share"} <= set(data)
    assert {
        "count",
        "cost",
        "energy_uj",
        "co2_ng",
        "cost_by_component",
        "measured_share",
        "sources",
    } <= set(data["total"])
    assert set(data["total"]["cost_by_component"]) == {"compute", "energy", "hardware", "data"}
    assert sum(_pico(g) for g in data["groups"]) == _pico(data["total"])  # exact, no floats
    assert all(isinstance(v, str) for v in data["total"]["cost_by_component"].values())


def test_idle_owned_hardware_is_its_own_line(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    settings = PriceSettings(hardware="owned")
    hour_cost = Money.from_decimal(Prices.from_settings(settings).calendar_hour)
    insert_rows(
        engine,
        [inference_row(created_at=now - timedelta(hours=1), cost_hardware_pico=hour_cost.pico)],
    )
    report = cost_report(
        sessions,
        period="today",
        group_by=None,
        now=now,
        prices=PriceBook(sessions, defaults=settings),
    )
    calendar = Decimal(12) * Prices.from_settings(settings).calendar_hour
    assert report.idle == Money.from_decimal(calendar) - hour_cost
    assert report.idle_hours == pytest.approx(11, rel=1e-6)
    assert report.cost_per_inference == report.total_with_idle
    cloud = cost_report(sessions, period="today", group_by=None, now=now, prices=_book(sessions))
    assert cloud.idle == Money(0)


def test_idle_follows_price_versions(sessions: SessionFactory, now: datetime) -> None:
    owned = PriceSettings(hardware="owned")
    set_price(
        sessions,
        key="hardware",
        value="owned",
        now=now - timedelta(hours=12),
        changed_by="t",
        defaults=owned,
    )
    set_price(
        sessions,
        key="hardware",
        value="cloud",
        now=now - timedelta(hours=6),
        changed_by="t",
        defaults=owned,
    )
    report = cost_report(
        sessions, period="today", group_by=None, now=now, prices=PriceBook(sessions, defaults=owned)
    )
    six_hours = Decimal(6) * Prices.from_settings(owned).calendar_hour
    assert abs(report.idle.pico - Money.from_decimal(six_hours).pico) <= 1


@pytest.mark.parametrize(
    ("period", "group_by", "error"),
    [("someday", None, BadPeriodError), ("today", "colour", BadGroupError)],
)
def test_bad_input_is_a_value_error(
    sessions: SessionFactory, now: datetime, period: str, group_by: str | None, error: type
) -> None:
    with pytest.raises(error) as raised:
        cost_report(sessions, period=period, group_by=group_by, now=now, prices=_book(sessions))
    assert isinstance(raised.value, ValueError)


def test_roi_without_work_has_no_ratio(sessions: SessionFactory, now: datetime) -> None:
    answer = roi_report(
        sessions, period="today", now=now, prices=_book(sessions), roi_settings=RoiSettings()
    )
    assert (answer.roi, answer.payback_days, answer.break_even_per_month) == (None, None, None)
