"""The aggregation job: fold new inference records (and support outcomes) into hourly roll-ups.

Watermark scheme (sound on PostgreSQL, where concurrent transactions can make ids visible out of
order): a run never folds past the largest id it saw *at least ``settle_s`` earlier* (the
"horizon"). Every id at or below that horizon was allocated before it was seen, and a writer
transaction commits (or rolls back) within ``settle_s`` of allocating its ids, so once the horizon
has aged ``settle_s`` no smaller id can still appear. Each run:

1. if the stored horizon H has aged ``settle_s``: fold records with watermark < id ≤ H, and set
   the watermark to H — in the same transaction as the roll-up writes (idempotent: a retried or
   repeated run finds the watermark already moved and folds nothing twice);
2. if no horizon is pending, store the current largest id as the new horizon, seen ``now``.

Late records (old ``created_at``, new id) fold into their old hour's roll-up. Reports add the live
tail (id > watermark), so they are exact without waiting for the job. The job-state row is locked
(``SELECT … FOR UPDATE``) so two concurrent runs on PostgreSQL serialise; on SQLite the second
writer fails with a busy error instead of double-counting. Support outcomes are folded the same
way, with their own watermark and horizon (``aggregation.outcomes…``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from costing.repricing import reprice_range
from costing.totals import OUTCOME_COLUMNS, RAW_COLUMNS, Totals
from storage.db import SessionFactory, session_scope
from storage.tables import CostRollup, InferenceRecord, JobState, SupportOutcome

DEFAULT_SETTLE_S = 60.0
CHUNK_IDS = 50_000
KEY_COLUMNS = ("model_name", "model_version", "tasks", "source_kind", "command", "channel_id")

RollupKey = tuple[datetime, str, str, str, str, str, int]


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding a moment."""
    return moment.replace(minute=0, second=0, microsecond=0)


def rollup_key(row: Any) -> RollupKey:
    """The roll-up key of an inference_record row (read by column name)."""
    model = (row.model_name, row.model_version, row.tasks)
    return (floor_hour(row.created_at), *model, row.source_kind, row.command, row.channel_id or 0)


def outcome_key(row: Any) -> RollupKey:
    """The roll-up key of a support_outcome row (no model, no command)."""
    return (floor_hour(row.created_at), "", "", "", row.source_kind, "", row.channel_id or 0)


@dataclass(frozen=True)
class FoldedTable:
    """A table folded into the roll-ups, with its job-state names."""

    name: str
    table: Table
    columns: tuple[str, ...]
    key: Callable[[Any], RollupKey]
    add: Callable[[Totals, Any], None]

    @property
    def horizon_name(self) -> str:
        return f"{self.name}.horizon"

    def select(self) -> Any:
        """A SELECT of the columns the fold reads."""
        return sa_select(*(self.table.c[name] for name in self.columns))


def _table(model: Any) -> Table:
    return model.__table__


INFERENCES = FoldedTable(
    "aggregation", _table(InferenceRecord), RAW_COLUMNS, rollup_key, Totals.add_row
)
OUTCOMES = FoldedTable(
    "aggregation.outcomes",
    _table(SupportOutcome),
    OUTCOME_COLUMNS,
    outcome_key,
    Totals.add_outcome,
)
SOURCES = (INFERENCES, OUTCOMES)
JOB_NAME, HORIZON_NAME = INFERENCES.name, INFERENCES.horizon_name


@dataclass(frozen=True)
class AggregationResult:
    """What one run did (records = inference records; outcomes counted apart)."""

    folded: int
    watermark: int
    horizon: int
    rollups_written: int
    outcomes_folded: int = 0


def raw_columns() -> list[Any]:
    """The inference_record columns the fold reads."""
    return [INFERENCES.table.c[name] for name in RAW_COLUMNS]


def aggregate(
    session_factory: SessionFactory, *, now: datetime, settle_s: float = DEFAULT_SETTLE_S
) -> AggregationResult:
    """Fold settled new records into roll-ups; safe to run any number of times."""
    _ensure_state(session_factory, now=now)
    with session_scope(session_factory) as session:
        state = _locked_state(session)
        runs = [
            _advance(session, source, state=state, now=now, settle_s=settle_s) for source in SOURCES
        ]
    (folded, watermark, horizon, written), (outcomes, _, _, written_o) = runs
    return AggregationResult(folded, watermark, horizon, written + written_o, outcomes)


def _advance(
    session: Session,
    source: FoldedTable,
    *,
    state: dict[str, JobState],
    now: datetime,
    settle_s: float,
) -> tuple[int, int, int, int]:
    mark, seen = state[source.name], state[source.horizon_name]
    watermark, horizon = mark.watermark, seen.watermark
    folded, written = 0, 0
    if source is INFERENCES:  # the tail and what is folded: at the version valid at created_at
        reprice_range(session, after=watermark, upto=_max_id(session, source))
    if horizon > watermark and now - seen.updated_at >= timedelta(seconds=settle_s):
        folded, written = _fold(session, source, after=watermark, upto=horizon, now=now)
        watermark = _move(mark, value=horizon, now=now)
    if horizon <= watermark:
        horizon = _move(seen, value=_max_id(session, source), now=now)
    return folded, watermark, horizon, written


def read_watermark(session: Session, source: FoldedTable = INFERENCES) -> int:
    """The id up to which a source's records are in the roll-ups."""
    state = session.get(JobState, source.name)
    return state.watermark if state is not None else 0


def _state_names() -> list[str]:
    return [name for source in SOURCES for name in (source.name, source.horizon_name)]


def _ensure_state(session_factory: SessionFactory, *, now: datetime) -> None:
    """Create the state rows once (a concurrent first run may race: duplicates are ignored)."""
    with session_scope(session_factory) as session:
        names = set(session.exec(select(JobState.name)))
        missing = [n for n in _state_names() if n not in names]
        if missing:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            rows = [{"name": n, "watermark": 0, "updated_at": now} for n in missing]
            insert = dialect.insert(_table(JobState)).on_conflict_do_nothing()
            session.connection().execute(insert, rows)


def _locked_state(session: Session) -> dict[str, JobState]:
    query = select(JobState).where(col(JobState.name).in_(_state_names()))
    rows = session.exec(query.with_for_update())
    return {row.name: row for row in rows}


def _move(state: JobState, *, value: int, now: datetime) -> int:
    if value != state.watermark:
        state.watermark, state.updated_at = value, now
    return state.watermark


def _max_id(session: Session, source: FoldedTable) -> int:
    query = sa_select(func.max(source.table.c.id))
    return int(session.connection().execute(query).scalar() or 0)


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did: roll-ups deleted from ``since`` (all without it), records re-folded."""

    since: datetime | None
    rollups_deleted: int
    folded: int
    outcomes_folded: int
    rollups_written: int

    def to_json(self) -> dict[str, Any]:
        since = self.since.isoformat() if self.since is not None else None
        return {**vars(self), "since": since}


def rebuild(
    session_factory: SessionFactory, *, now: datetime, since: datetime | None = None
) -> RebuildResult:
    """Re-fold the roll-ups after records were corrected in place: delete the roll-ups from the
    hour holding ``since`` (all of them without it) and fold again every record of those hours up
    to each source's watermark, in one transaction under the job-state lock. The watermarks stay,
    so reports (roll-ups + live tail) never count a record twice, even mid-rebuild; records above
    them are left to the next run. Idempotent: a second rebuild writes the same roll-ups."""
    _ensure_state(session_factory, now=now)
    cutoff = floor_hour(since) if since is not None else None
    with session_scope(session_factory) as session:
        state = _locked_state(session)
        table = _rollup_table()
        delete = table.delete() if cutoff is None else table.delete().where(table.c.hour >= cutoff)
        deleted = session.connection().execute(delete).rowcount
        runs = [
            _fold(session, s, after=0, upto=state[s.name].watermark, now=now, since=cutoff)
            for s in SOURCES
        ]
    (folded, written), (outcomes, written_o) = runs
    return RebuildResult(cutoff, deleted, folded, outcomes, written + written_o)


def _fold(
    session: Session,
    source: FoldedTable,
    *,
    after: int,
    upto: int,
    now: datetime,
    since: datetime | None = None,
) -> tuple[int, int]:
    sums: dict[RollupKey, Totals] = defaultdict(Totals)
    connection = session.connection()  # Core rows: the ORM adds nothing to a plain column read
    identity = source.table.c.id
    folded = 0
    for low in range(after, upto, CHUNK_IDS):
        high = min(low + CHUNK_IDS, upto)
        query = source.select().where(identity > low, identity <= high)
        if since is not None:
            query = query.where(source.table.c.created_at >= since)
        for row in connection.execute(query):
            source.add(sums[source.key(row)], row)
            folded += 1
    return folded, _upsert(connection, sums, now=now)


def _upsert(connection: Connection, sums: dict[RollupKey, Totals], *, now: datetime) -> int:
    table = _rollup_table()
    existing = _existing(connection, keys=list(sums))
    inserts, updates = [], []
    for key, totals in sums.items():
        found = existing.get(key)
        if found is None:
            values = dict(zip(("hour", *KEY_COLUMNS), key, strict=True))
            inserts.append({**values, **totals.column_values(), "updated_at": now})
        else:
            merged = found[1].add(totals).column_values()
            updates.append({**merged, "row_id": found[0], "updated_at": now})
    if inserts:
        connection.execute(table.insert(), inserts)
    if updates:
        connection.execute(table.update().where(table.c.id == bindparam("row_id")), updates)
    return len(sums)


def _rollup_table() -> Table:
    return _table(CostRollup)


def _existing(
    connection: Connection, *, keys: list[RollupKey]
) -> dict[RollupKey, tuple[int, Totals]]:
    table = _rollup_table()
    key_columns = [table.c.hour, *(table.c[name] for name in KEY_COLUMNS)]
    found: dict[RollupKey, tuple[int, Totals]] = {}
    for start in range(0, len(keys), 500):
        wanted = tuple_(*key_columns).in_(keys[start : start + 500])
        for row in connection.execute(sa_select(table).where(wanted)):
            key = (row.hour, *(getattr(row, name) for name in KEY_COLUMNS))
            found[key] = (row.id, Totals.from_columns(row))
    return found
