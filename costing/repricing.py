"""Price each record by the price version valid at its own ``created_at``, whichever process
recorded it.

A service prices a batch from the price book it loaded last (it never reads the database on the
forward path), so after a price change it may price records up to one refresh interval with
the version before. Each record keeps its share of the batch's wall, CPU and GPU time and its
energy, so the aggregation prices such records again, exactly, before folding them: a record
carries the version valid at its ``created_at`` and that version's cost, in the raw table and
in every roll-up.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from costing.cost_model import price_measurement, split_total
from costing.measurement import EnergyMethod, EnergyReading, Measurement
from costing.prices import Prices
from costing.units import Energy
from storage.tables import InferenceRecord, PriceSheet

CHUNK_IDS = 50_000
SHARE_COLUMNS = ("wall_us", "cpu_us", "gpu_us")
COST_COLUMNS = ("cost_compute_pico", "cost_energy_pico", "cost_hardware_pico", "co2_ng")
MICRO = 1_000_000


def time_shares(measurement: Measurement, weights: list[int]) -> list[dict[str, int]]:
    """Each item's share of a batch's wall, CPU and GPU time in µs (``wall_us``, ``cpu_us``,
    ``gpu_us``), split by weight so the shares sum exactly to the batch's rounded times."""
    totals = (measurement.wall_s, measurement.cpu_s, measurement.gpu_s)
    parts = [split_total(round(seconds * MICRO), weights) for seconds in totals]
    return [dict(zip(SHARE_COLUMNS, share, strict=True)) for share in zip(*parts, strict=True)]


def share_cost(
    prices: Prices, *, energy_uj: int, wall_us: int, cpu_us: int, gpu_us: int
) -> dict[str, int]:
    """The cost columns (compute, energy, hardware pico-units; CO2 ng) of one record's share."""
    reading = EnergyReading("share", Energy(energy_uj), EnergyMethod.RAPL)
    share = Measurement(
        wall_s=wall_us / MICRO, cpu_s=cpu_us / MICRO, gpu_s=gpu_us / MICRO, readings=(reading,)
    )
    columns = price_measurement(share, prices).record_columns()
    return {name: columns[name] for name in COST_COLUMNS}


@dataclass(frozen=True)
class _Versions:
    """The stored price versions, to look up the one valid at a time."""

    starts: list[Any]
    ids: list[int]
    prices: list[Prices]

    def at(self, when: Any) -> tuple[int, Prices] | None:
        index = bisect.bisect_right(self.starts, when) - 1
        return (self.ids[index], self.prices[index]) if index >= 0 else None


def _versions(session: Session) -> _Versions:
    rows = session.exec(
        select(PriceSheet).order_by(col(PriceSheet.valid_from), col(PriceSheet.id))
    ).all()
    return _Versions(
        starts=[row.valid_from for row in rows],
        ids=[int(row.id or 0) for row in rows],
        prices=[Prices.from_json({**row.prices, "currency": row.currency}) for row in rows],
    )


def reprice_range(session: Session, *, after: int, upto: int) -> int:
    """Price again the records with ``after < id <= upto`` that carry another version than the
    one valid at their ``created_at``; returns how many changed. Records without time shares
    (written before migration 0005) and records older than every version are left as they are.
    """
    versions = _versions(session)
    if not versions.ids or upto <= after:
        return 0
    table: Table = InferenceRecord.__table__  # type: ignore[attr-defined]
    changed = 0
    for low in range(after, upto, CHUNK_IDS):
        stale = list(_stale(session, table, versions, low=low, high=min(low + CHUNK_IDS, upto)))
        _write(session, table, stale)
        changed += len(stale)
    return changed


def _stale(
    session: Session, table: Table, versions: _Versions, *, low: int, high: int
) -> Iterator[dict[str, Any]]:
    c = table.c
    query = sa_select(
        c.id, c.created_at, c.price_sheet_id, c.energy_uj, c.wall_us, c.cpu_us, c.gpu_us
    ).where(c.id > low, c.id <= high, _maybe_stale(table, versions))
    for row in session.connection().execute(query):
        valid = versions.at(row.created_at)
        if valid is None or valid[0] == row.price_sheet_id:
            continue
        if not (row.wall_us or row.cpu_us or row.gpu_us):
            continue  # no shares stored: cannot be priced again exactly
        sheet_id, prices = valid
        shares = {name: getattr(row, name) for name in SHARE_COLUMNS}
        cost = share_cost(prices, energy_uj=row.energy_uj, **shares)
        new = {"price_sheet_id": sheet_id, **cost}
        yield {"rid": row.id, **{f"new_{name}": value for name, value in new.items()}}


def _maybe_stale(table: Table, versions: _Versions) -> Any:
    """SQL for: has time shares, and another version than the one valid at its created_at (the
    database filters, so a run reads only the few records priced late)."""
    c = table.c
    ends = [*versions.starts[1:], None]
    periods = []
    for start, end, sheet_id in zip(versions.starts, ends, versions.ids, strict=True):
        other = or_(c.price_sheet_id.is_(None), c.price_sheet_id != sheet_id)
        within = [c.created_at >= start, *([c.created_at < end] if end is not None else [])]
        periods.append(and_(*within, other))
    has_shares = or_(c.wall_us > 0, c.cpu_us > 0, c.gpu_us > 0)
    return and_(has_shares, or_(*periods))


def _write(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    names = ("price_sheet_id", *COST_COLUMNS)
    statement = (
        update(table)
        .where(table.c.id == bindparam("rid"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    session.connection().execute(statement, list(rows))
