"""A record is priced by the version valid at its own created_at, whichever process priced it:
records priced with the version before (a service that had not reloaded yet) are priced again
exactly from their stored time shares before the aggregation folds them; both backends."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from costing.aggregation import aggregate
from costing.measurement import Measurement
from costing.prices import Prices, store_version
from costing.repricing import share_cost, time_shares
from costing.settings import PriceSettings
from storage.db import SessionFactory
from tests.costing.conftest import insert_rows
from tests.costing.sums import raw_sums, rollup_sums
from tests.factories import inference_row

SETTLED = timedelta(minutes=5)
SHARES = {"wall_us": 4_000, "cpu_us": 7_500, "gpu_us": 0, "energy_uj": 90_000}


def _records(engine: Engine) -> dict[str, tuple[int | None, int, int, int]]:
    query = "SELECT request_id, price_sheet_id, cost_compute_pico, cost_energy_pico, co2_ng"
    with engine.connect() as connection:
        rows = connection.execute(text(f"{query} FROM inference_record")).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _priced(
    prices: Prices, sheet_id: int | None, *, request_id: str, when: datetime
) -> dict[str, object]:
    cost = share_cost(prices, **SHARES)
    return inference_row(
        request_id=request_id, created_at=when, price_sheet_id=sheet_id, **SHARES, **cost
    )


def test_records_priced_with_the_version_before_are_priced_again_by_their_own(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    old = Prices.from_settings(PriceSettings())
    new = old.with_values({"cpu_core_hour": "0.5", "electricity_kwh": "0.40"})
    v1 = store_version(sessions, prices=old, valid_from=now - timedelta(hours=2), changed_by="a")
    v2 = store_version(sessions, prices=new, valid_from=now - timedelta(minutes=30), changed_by="b")
    insert_rows(
        engine,
        [
            _priced(old, v1.id, request_id="before", when=now - timedelta(hours=1)),
            _priced(old, v1.id, request_id="late", when=now - timedelta(minutes=10)),
            _priced(old, None, request_id="fallback", when=now - timedelta(minutes=5)),
            _priced(new, v2.id, request_id="on-time", when=now - timedelta(minutes=1)),
            inference_row(request_id="no-shares", created_at=now, price_sheet_id=v1.id),
        ],
    )
    aggregate(sessions, now=now)  # prices the unfolded tail again
    records = _records(engine)
    cost_new = share_cost(new, **SHARES)
    expected_new = (v2.id, cost_new["cost_compute_pico"], cost_new["cost_energy_pico"])
    for request_id in ("late", "fallback", "on-time"):
        assert records[request_id][:3] == expected_new, request_id
    assert records["before"][0] == v1.id and records["before"][1] < cost_new["cost_compute_pico"]
    assert records["no-shares"][0] == v1.id  # written before 0005: nothing to price it with
    aggregate(sessions, now=now + SETTLED)
    assert rollup_sums(engine) == raw_sums(engine)


def test_a_record_folded_after_a_late_version_is_priced_before_it_is_folded(
    engine: Engine, sessions: SessionFactory, now: datetime
) -> None:
    old = Prices.from_settings(PriceSettings())
    new = old.with_values({"cpu_core_hour": "0.9"})
    v1 = store_version(sessions, prices=old, valid_from=now - timedelta(hours=2), changed_by="a")
    insert_rows(engine, [_priced(old, v1.id, request_id="r", when=now - timedelta(minutes=3))])
    aggregate(sessions, now=now)
    v2 = store_version(sessions, prices=new, valid_from=now - timedelta(minutes=4), changed_by="b")
    aggregate(sessions, now=now + SETTLED)
    assert _records(engine)["r"][0] == v2.id
    assert rollup_sums(engine) == raw_sums(engine)


def test_time_shares_sum_exactly_to_the_batch() -> None:
    batch = Measurement(wall_s=0.0123457, cpu_s=0.031, gpu_s=0.0051)
    shares = time_shares(batch, [5, 9, 1, 0])
    assert sum(s["wall_us"] for s in shares) == 12_346
    assert sum(s["cpu_us"] for s in shares) == 31_000
    assert sum(s["gpu_us"] for s in shares) == 5_100
    assert shares[3] == {"wall_us": 0, "cpu_us": 0, "gpu_us": 0}
