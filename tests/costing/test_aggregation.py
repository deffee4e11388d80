from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from costing import histogram
from costing.aggregation import aggregate, rebuild
from costing.periods import Period
from costing.readers import count_outcomes
from storage.db import SessionFactory
from storage.tables import CostRollup
from tests.costing.conftest import SupportOutcome, insert_rows, outcome_row
from tests.costing.sums import raw_sums, rollup_sums
from tests.factories import inference_row

SETTLED = timedelta(minutes=5)


def _rows(now: datetime, count: int, **overrides: object) -> list[dict[str, object]]:
    return [
        inference_row(
            created_at=now - timedelta(minutes=13 * i),
            energy_uj=1000 + i,
            cost_compute_pico=10_000 + i,
            compute_ms=float(i % 50),
            **overrides,
        )
        for i in range(count)
    ]


def test_records_fold_once_the_horizon_has_settled(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    insert_rows(engine, _rows(now, 40))
    first = aggregate(sessions, now=now)
    assert (first.folded, first.watermark, first.horizon) == (0, 0, 40)
    assert aggregate(sessions, now=now + timedelta(seconds=10)).folded == 0  # not settled yet
    second = aggregate(sessions, now=now + SETTLED)
    assert (second.folded, second.watermark) == (40, 40)
    assert rollup_sums(engine) == raw_sums(engine)


def test_running_again_changes_nothing(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    insert_rows(engine, _rows(now, 25))
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    before = rollup_sums(engine)
    for step in range(2, 5):
        assert aggregate(sessions, now=now + step * SETTLED).folded == 0
    assert rollup_sums(engine) == before == raw_sums(engine)


def test_only_new_records_are_read_and_late_ones_join_their_old_hour(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    insert_rows(engine, _rows(now, 30))
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    old_hour = (now - timedelta(days=3)).replace(minute=0)
    insert_rows(engine, [inference_row(created_at=old_hour + timedelta(minutes=5))])
    insert_rows(engine, _rows(now, 3))
    aggregate(sessions, now=now + 2 * SETTLED)
    result = aggregate(sessions, now=now + 3 * SETTLED)
    assert result.folded == 4
    assert rollup_sums(engine) == raw_sums(engine)
    with Session(engine) as session:
        late = session.execute(select(CostRollup).where(CostRollup.hour == old_hour)).scalar_one()
    assert late.count == 1


def test_a_lower_id_committed_late_is_not_skipped(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    """An id that becomes visible after a higher one (PostgreSQL concurrent commits)."""
    rows = _rows(now, 5)
    insert_rows(engine, [{**row, "id": 100 + i} for i, row in enumerate(rows[1:])])
    aggregate(sessions, now=now)  # horizon 104 seen now; id 99 still "in flight"
    insert_rows(engine, [{**rows[0], "id": 99}])  # commits within the settle time
    aggregate(sessions, now=now + SETTLED)
    assert rollup_sums(engine) == raw_sums(engine)


def test_rollups_keep_keys_and_a_mergeable_latency_histogram(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    rows = _rows(now, 12, channel_id=7, command="ask") + _rows(now, 12, channel_id=None)
    insert_rows(engine, rows)
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    with Session(engine) as session:
        rollups = session.execute(select(CostRollup)).scalars().all()
    assert {r.channel_id for r in rollups} == {7, 0}
    merged: dict[str, int] = {}
    for rollup in rollups:
        histogram.merge(merged, rollup.latency_histogram)
    expected = histogram.add({}, (float(r["queue_ms"]) + float(r["compute_ms"]) for r in rows))
    assert merged == expected
    assert sum(r.latency_ms_sum for r in rollups) == sum(
        float(r["queue_ms"]) + float(r["compute_ms"]) for r in rows
    )


def test_outcomes_fold_with_their_own_watermark_and_late_ones_count(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    kinds = ["resolved", "escalated", "resolved"]
    rows = [outcome_row(created_at=now - timedelta(minutes=50 * i + 1), outcome=kinds[i % 3],
                        channel_id=[None, 5][i % 2]) for i in range(60)]  # fmt: skip
    insert_rows(engine, rows, SupportOutcome)
    period = Period(start=now - timedelta(days=3), end=now)
    expected = {k: sum(r["outcome"] == k for r in rows) for k in ("resolved", "escalated")}
    assert count_outcomes(sessions, period=period) == expected  # all from the live tail
    aggregate(sessions, now=now)
    assert aggregate(sessions, now=now + SETTLED).outcomes_folded == 60
    assert count_outcomes(sessions, period=period) == expected  # all from roll-ups
    late = outcome_row(created_at=now - timedelta(days=2, minutes=7), outcome="escalated")
    insert_rows(engine, [late], SupportOutcome)
    expected["escalated"] += 1
    assert count_outcomes(sessions, period=period) == expected
    aggregate(sessions, now=now + 2 * SETTLED)
    aggregate(sessions, now=now + 3 * SETTLED)
    assert count_outcomes(sessions, period=period) == expected
    assert raw_sums(engine)["count"] == rollup_sums(engine)["count"] == 0  # no inference mixed in


def test_concurrent_runs_on_postgresql_fold_once(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a concurrent run fails instead of waiting")
    insert_rows(engine, _rows(now, 200))
    aggregate(sessions, now=now)
    barrier = threading.Barrier(2)

    def run() -> int:
        barrier.wait()
        return aggregate(sessions, now=now + SETTLED).folded

    with ThreadPoolExecutor(max_workers=2) as pool:
        folded = sorted(pool.map(lambda _: run(), range(2)))
    assert folded == [0, 200]
    assert rollup_sums(engine) == raw_sums(engine)


def _hour_costs(engine: Engine) -> dict[datetime, int]:
    with Session(engine) as session:
        rollups = session.execute(select(CostRollup)).scalars().all()
    return {r.hour.replace(tzinfo=None): r.cost_compute_pico for r in rollups}


def test_a_rebuild_refolds_corrected_records_from_a_day_and_is_idempotent(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    day = now.replace(hour=0)  # 2026-03-29 00:00 UTC
    hours = [day - timedelta(hours=2), day + timedelta(hours=1), day + timedelta(hours=3)]
    rows = [
        inference_row(created_at=h + timedelta(minutes=10), cost_compute_pico=100) for h in hours
    ]
    insert_rows(engine, rows)
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    with engine.begin() as connection:  # corrections in place: one before the day, two after
        table = CostRollup.metadata.tables["inference_record"]
        connection.execute(table.update().values(cost_compute_pico=40))
        connection.execute(table.delete().where(table.c.created_at >= hours[2]))
    first = rebuild(sessions, now=now + 2 * SETTLED, since=day)
    assert (first.rollups_deleted, first.folded, first.rollups_written) == (2, 1, 1)
    naive = [h.replace(tzinfo=None) for h in hours]
    assert _hour_costs(engine) == {naive[0]: 100, naive[1]: 40}  # the day before kept as it was
    again = rebuild(sessions, now=now + 3 * SETTLED, since=day)
    assert (again.rollups_deleted, again.folded) == (1, 1)
    assert _hour_costs(engine) == {naive[0]: 100, naive[1]: 40}
    rebuild(sessions, now=now + 4 * SETTLED)  # no day: every roll-up
    assert _hour_costs(engine) == {naive[0]: 40, naive[1]: 40}
    assert rollup_sums(engine) == raw_sums(engine)


def test_a_rebuild_leaves_records_above_the_watermark_to_the_next_run(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    insert_rows(engine, _rows(now, 10))
    aggregate(sessions, now=now)
    aggregate(sessions, now=now + SETTLED)
    insert_rows(engine, _rows(now, 4))  # not yet folded: the reports' live tail
    outcomes = [outcome_row(created_at=now - timedelta(minutes=3)) for _ in range(2)]
    insert_rows(engine, outcomes, SupportOutcome)
    result = rebuild(sessions, now=now + 2 * SETTLED)
    assert (result.folded, result.outcomes_folded) == (10, 0)
    assert rollup_sums(engine)["count"] == 10
    aggregate(sessions, now=now + 2 * SETTLED)
    aggregate(sessions, now=now + 3 * SETTLED)
    assert rollup_sums(engine) == raw_sums(engine)
    assert rebuild(sessions, now=now + 4 * SETTLED).outcomes_folded == 2
    assert rollup_sums(engine) == raw_sums(engine)
