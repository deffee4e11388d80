"""Read exact sums for a period: roll-ups for whole hours, raw records for the rest.

Raw records are read for hours the period (or, grouped by day, a local midnight) cuts, for
records not yet folded (the live tail, id > watermark), so a sum equals the raw records' sum
whether or not the job has run. The watermark is read before and after; if the job moved it in
between, the read is repeated (the job moves it atomically with the roll-ups).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, false, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from costing.aggregation import OUTCOMES, floor_hour, raw_columns, read_watermark
from costing.errors import BadGroupError
from costing.periods import Period
from costing.totals import SUMMED_COLUMNS, Totals
from storage.db import SessionFactory, session_scope
from storage.tables import CostRollup, InferenceRecord

GROUPS = ("day", "command", "channel", "model", "task")
DEFAULT_GROUP = "day"
SCOPES = ("all", "model", "channel")
HOUR = timedelta(hours=1)
_ROLLUP_GROUP_COLUMNS: dict[str | None, tuple[str, ...]] = {
    None: (),
    "command": ("source_kind", "command"),
    "channel": ("channel_id",),
    "model": ("model_name", "model_version"),
    "task": ("tasks",),
    "day": ("hour",),
}
# The same fields in a raw inference_record row, by name ("day" groups by created_at).
_RAW_GROUP_COLUMNS = {
    "command": ("source_kind", "command"),
    "channel": ("channel_id",),
    "model": ("model_name", "model_version"),
    "task": ("tasks",),
    "day": ("created_at",),
}


@dataclass(frozen=True)
class Scope:
    """Which records count: all, one model (by name), or one channel (by id)."""

    kind: str = "all"
    value: str = ""

    def matches_raw(self, row: Any) -> bool:
        """Whether an inference_record row (read by column name) falls in the scope."""
        if self.kind == "model":
            return bool(row.model_name == self.value)
        if self.kind == "channel":
            return str(row.channel_id or 0) == self.value
        return True


def check_group(group_by: str | None) -> str | None:
    """The grouping, validated; BadGroupError names the choices."""
    if group_by in (None, "", "none", "all"):
        return None
    if group_by not in GROUPS:
        raise BadGroupError(f"bad group-by {group_by!r}: expected one of {'|'.join(GROUPS)}")
    return group_by


def group_label(group_by: str | None, values: Sequence[Any], period: Period) -> str:
    """The label of a group from its key values."""
    if group_by is None:
        return "all"
    if group_by == "command":
        return str(values[1] or values[0])
    if group_by == "channel":
        return str(values[0] or "none")
    if group_by == "model":
        return f"{values[0]}@{values[1]}"
    if group_by == "day":
        return period.local_day(values[0]).isoformat()
    return str(values[0])


def read_totals(
    session_factory: SessionFactory,
    *,
    period: Period,
    group_by: str | None = None,
    scope: Scope | None = None,
) -> dict[str, Totals]:
    """Exact sums of the inference records in a period, per group label."""
    group_by = check_group(group_by)
    scope = scope or Scope()
    with session_scope(session_factory) as session:
        for _ in range(5):
            before = read_watermark(session)
            sums = _read(session, period=period, group_by=group_by, scope=scope, watermark=before)
            if read_watermark(session) == before:
                return sums
            session.rollback()
    raise RuntimeError("the aggregation job kept moving the watermark; try again")


def _read(
    session: Session, *, period: Period, group_by: str | None, scope: Scope, watermark: int
) -> dict[str, Totals]:
    cuts = [period.start, period.end, *(period.midnights() if group_by == "day" else [])]
    whole, split, raw_ranges = plan_hours(period, cuts)
    sums: dict[str, Totals] = defaultdict(Totals)
    label = _labeller(group_by, period)
    if whole:
        _add_rollups(
            session, sums, whole=whole, split=split, group_by=group_by, scope=scope, label=label
        )
    in_period = _in(period)
    raw = _raw_rows(session, raw_ranges)
    _add_raw(sums, (r for r in raw if r.id <= watermark), group_by, scope, label)
    tail = session.execute(sa_select(*raw_columns()).where(col(InferenceRecord.id) > watermark))
    _add_raw(sums, (r for r in tail if in_period(r.created_at)), group_by, scope, label)
    return dict(sums)


def _in(period: Period) -> Callable[[datetime], bool]:
    return lambda moment: period.start <= moment < period.end


def plan_hours(
    period: Period, cuts: list[datetime]
) -> tuple[tuple[datetime, datetime] | None, list[datetime], list[tuple[datetime, datetime]]]:
    """Whole roll-up hours [a, b), hours inside that are cut, and raw ranges to read instead."""
    hour, end = floor_hour(period.start), period.end
    full: list[datetime] = []
    raw: list[tuple[datetime, datetime]] = []
    while hour < end:
        nxt = hour + HOUR
        if hour >= period.start and nxt <= end and not any(hour < c < nxt for c in cuts):
            full.append(hour)
        else:
            _append_range(raw, (max(hour, period.start), min(nxt, end)))
        hour = nxt
    if not full:
        return None, [], raw
    whole = (full[0], full[-1] + HOUR)
    split = [start for start, _ in raw if whole[0] <= start < whole[1]]
    return whole, [floor_hour(s) for s in split], raw


def _append_range(ranges: list[tuple[datetime, datetime]], item: tuple[datetime, datetime]) -> None:
    if ranges and ranges[-1][1] == item[0]:
        ranges[-1] = (ranges[-1][0], item[1])
    else:
        ranges.append(item)


def _labeller(group_by: str | None, period: Period) -> Callable[[Sequence[Any]], str]:
    return lambda values: group_label(group_by, values, period)


def _add_rollups(
    session: Session,
    sums: dict[str, Totals],
    *,
    whole: tuple[datetime, datetime],
    split: list[datetime],
    group_by: str | None,
    scope: Scope,
    label: Callable[[Sequence[Any]], str],
) -> None:
    table = CostRollup.__table__  # type: ignore[attr-defined]
    keys = [table.c[name] for name in _ROLLUP_GROUP_COLUMNS[group_by]]
    query = sa_select(*keys, *(func.sum(table.c[name]) for name in SUMMED_COLUMNS))
    query = query.where(table.c.hour >= whole[0], table.c.hour < whole[1])
    if split:
        query = query.where(table.c.hour.not_in(split))
    if scope.kind == "model":
        query = query.where(table.c.model_name == scope.value)
    elif scope.kind == "channel":
        channel = int(scope.value or 0)
        # A stored channel_id is a signed BIGINT: an id beyond it (a valid uint64) matches none.
        query = query.where(table.c.channel_id == channel if channel < 2**63 else false())
    for row in session.execute(query.group_by(*keys)):
        values = dict(zip(SUMMED_COLUMNS, row[len(keys) :], strict=True))
        if values["count"]:
            sums[label(row[: len(keys)])].add(_totals(values))


def _totals(values: dict[str, Any]) -> Totals:
    converted: dict[str, Any] = {
        k: (float(v or 0) if k == "latency_ms_sum" else int(v or 0)) for k, v in values.items()
    }
    return Totals(**converted)


def _raw_rows(session: Session, ranges: list[tuple[datetime, datetime]]) -> list[Any]:
    if not ranges:
        return []
    created = col(InferenceRecord.created_at)
    where = or_(*(and_(created >= a, created < b) for a, b in ranges))
    return list(session.execute(sa_select(*raw_columns()).where(where)))


def _add_raw(
    sums: dict[str, Totals],
    rows: Any,
    group_by: str | None,
    scope: Scope,
    label: Callable[[Sequence[Any]], str],
) -> None:
    names = _RAW_GROUP_COLUMNS.get(group_by or "", ())
    for row in rows:
        if scope.matches_raw(row):
            sums[label(tuple(getattr(row, name) for name in names))].add_row(row)


def count_outcomes(session_factory: SessionFactory, *, period: Period) -> dict[str, int]:
    """Support outcomes in a period: ``resolved`` and ``escalated`` (roll-ups + raw + tail)."""
    with session_scope(session_factory) as session:
        for _ in range(5):
            before = read_watermark(session, OUTCOMES)
            counts = _read_outcomes(session, period=period, watermark=before)
            if read_watermark(session, OUTCOMES) == before:
                return counts
            session.rollback()
    raise RuntimeError("the aggregation job kept moving the watermark; try again")


def _read_outcomes(session: Session, *, period: Period, watermark: int) -> dict[str, int]:
    whole, split, raw_ranges = plan_hours(period, [period.start, period.end])
    totals = Totals()
    if whole:
        table = CostRollup.__table__  # type: ignore[attr-defined]
        query = sa_select(func.sum(table.c.resolved), func.sum(table.c.escalated)).where(
            table.c.hour >= whole[0], table.c.hour < whole[1], table.c.hour.not_in(split)
        )
        resolved, escalated = session.execute(query).one()
        totals.resolved = int(cast(int | None, resolved) or 0)
        totals.escalated = int(cast(int | None, escalated) or 0)
    created = OUTCOMES.table.c.created_at
    if raw_ranges:
        where = or_(*(and_(created >= a, created < b) for a, b in raw_ranges))
        for row in session.execute(OUTCOMES.select().where(where)):
            if row.id <= watermark:
                totals.add_outcome(row)
    in_period = _in(period)
    for row in session.execute(OUTCOMES.select().where(OUTCOMES.table.c.id > watermark)):
        if in_period(row.created_at):
            totals.add_outcome(row)
    return {"resolved": totals.resolved, "escalated": totals.escalated}
