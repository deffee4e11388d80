"""For random records and random job schedules (late arrivals included), totals stay exact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from costing.aggregation import aggregate
from costing.cost_report import cost_report
from costing.periods import Period
from costing.prices import PriceBook
from costing.readers import count_outcomes
from costing.settings import PriceSettings
from storage.db import create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.costing.conftest import NOW, SupportOutcome, insert_rows, outcome_row
from tests.costing.sums import raw_sums, rollup_sums
from tests.factories import inference_row

MONEY = ("cost_compute_pico", "cost_energy_pico", "cost_hardware_pico", "cost_data_pico")

record = st.fixed_dictionaries(
    {
        "age_min": st.integers(min_value=0, max_value=60 * 24 * 9),
        "channel": st.sampled_from([None, 1, 2]),
        "version": st.sampled_from(["a", "b"]),
        "money": st.integers(min_value=0, max_value=10**12),
        "uj": st.integers(min_value=0, max_value=10**9),
        "method": st.sampled_from(["cpu-time-estimate", "nvml-counter", "nvml-power-x-time+rapl"]),
    }
)
# A step: a batch of records (some late: old created_at) then a job run after some minutes.
outcome = st.tuples(st.integers(min_value=0, max_value=60 * 24 * 9), st.booleans())
step = st.tuples(
    st.lists(record, max_size=12),
    st.lists(outcome, max_size=4),
    st.integers(min_value=0, max_value=10),
)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = Path(tmp_path_factory.mktemp("prop")) / "prop.db"
    engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in ("inference_record", "support_outcome", "cost_rollup", "job_state"):
            connection.exec_driver_sql(f"DELETE FROM {table}")


def _row(spec: dict[str, object], clock: object) -> dict[str, object]:
    return inference_row(
        created_at=clock - timedelta(minutes=spec["age_min"]),  # type: ignore[operator]
        channel_id=spec["channel"],
        model_version=spec["version"],
        cost_energy_pico=spec["money"],
        cost_compute_pico=spec["money"] // 3,
        energy_uj=spec["uj"],
        energy_method=spec["method"],  # type: ignore[operator]
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(step, min_size=1, max_size=6), zone=st.sampled_from(["UTC", "Asia/Kathmandu"])
)
def test_rollups_and_reports_equal_raw_sums(
    sqlite_engine: Engine,
    steps: list[tuple[list[dict[str, object]], list[tuple[int, bool]], int]],
    zone: str,
) -> None:
    _wipe(sqlite_engine)
    sessions = session_factory(sqlite_engine)
    clock = NOW
    resolved = 0
    for records, outcomes, minutes in steps:
        insert_rows(sqlite_engine, [_row(spec, clock) for spec in records])
        insert_rows(sqlite_engine, [outcome_row(created_at=clock - timedelta(minutes=age),
                                                outcome="resolved" if ok else "escalated")
                                    for age, ok in outcomes], SupportOutcome)  # fmt: skip
        resolved += sum(ok for _, ok in outcomes)
        clock += timedelta(minutes=minutes)
        aggregate(sessions, now=clock)
    clock += timedelta(minutes=2)
    aggregate(sessions, now=clock)  # whatever has settled is folded, the rest is the live tail
    folded = rollup_sums(sqlite_engine)
    everything = raw_sums(sqlite_engine)
    assert all(folded[k] <= everything[k] for k in folded)
    period = Period(start=NOW - timedelta(days=10), end=clock + timedelta(seconds=1), timezone=zone)
    book = PriceBook(sessions, defaults=PriceSettings())
    report = cost_report(sessions, period=period, group_by="day", now=clock, prices=book)
    assert report.total.count == everything["count"]
    assert report.total.total.pico == sum(everything[k] for k in MONEY)
    assert sum(g.total.pico for g in report.groups) == report.total.total.pico
    assert count_outcomes(sessions, period=period)["resolved"] == resolved
    aggregate(sessions, now=clock + timedelta(minutes=5))
    assert rollup_sums(sqlite_engine) == raw_sums(sqlite_engine)
