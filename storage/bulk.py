"""Fast bulk inserts that skip rows whose uid is already stored.

SQLAlchemy's generic executemany spends most of its time building per-row parameter dicts;
here the statement is compiled once per table and dialect, the values of a complete row are
taken in one C-level `itemgetter` call, only the columns whose type needs a conversion run
their bind processor (the same one SQLAlchemy would apply), and the driver gets lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Column, Connection, Engine, Table
from sqlmodel import SQLModel

from storage.tables import SPOOLABLE_TABLES
from storage.types import utc_now

Row = dict[str, Any]
# Set by the write path itself, once per batch: when the rows reached the database.
STAMP_COLUMN = "ingested_at"


@dataclass(frozen=True)
class _Plan:
    sql: str
    columns: tuple[str, ...]
    defaults: tuple[Callable[[], Any], ...]
    get_all: Callable[[Row], Any]
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]
    stamped: bool


class BulkInserter:
    """Inserts rows of the spoolable tables, ignoring duplicate uids, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._dialect = engine.dialect
        self._plans = {name: self._plan(model) for name, model in SPOOLABLE_TABLES.items()}

    def insert(self, connection: Connection, table: str, rows: Sequence[Row]) -> None:
        """Insert the rows in one executemany; a uid already present is skipped."""
        plan = self._plans[table]
        tail = (self._stamp(),) if plan.stamped else ()
        values = [(*self._values(plan, row), *tail) for row in rows]
        connection.exec_driver_sql(plan.sql, values)

    def _values(self, plan: _Plan, row: Row) -> list[Any]:
        try:
            values = list(plan.get_all(row))  # the hot path: every column given
        except KeyError:
            pairs = zip(plan.columns, plan.defaults, strict=True)
            values = [row[column] if column in row else make() for column, make in pairs]
        for position, process in plan.converted:
            if values[position] is not None:
                values[position] = process(values[position])
        return values

    def _stamp(self) -> Any:
        process = _processor(self._stamp_type, self._dialect)
        now = utc_now()
        return process(now) if process is not None else now

    def _plan(self, model: type[SQLModel]) -> _Plan:
        table: Table = model.__table__  # type: ignore[attr-defined]
        stamped = STAMP_COLUMN in table.columns
        if stamped:
            self._stamp_type = table.columns[STAMP_COLUMN].type
        columns = [c for c in table.columns if c.name not in ("id", STAMP_COLUMN)]
        names = tuple(c.name for c in columns)
        processors = [_processor(c.type, self._dialect) for c in columns]
        return _Plan(
            sql=_insert_sql(
                table,
                [*columns, *([table.columns[STAMP_COLUMN]] if stamped else [])],
                qmark=self._dialect.paramstyle == "qmark",
            ),
            columns=names,
            defaults=tuple(_default_of(model, name) for name in names),
            get_all=itemgetter(*names),
            converted=tuple((i, p) for i, p in enumerate(processors) if p is not None),
            stamped=stamped,
        )


def _insert_sql(table: Table, columns: list[Column[Any]], *, qmark: bool) -> str:
    marker = "?" if qmark else "%s"
    names = ", ".join(c.name for c in columns)
    markers = ", ".join([marker] * len(columns))
    return f"INSERT INTO {table.name} ({names}) VALUES ({markers}) ON CONFLICT (uid) DO NOTHING"


def _processor(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    process = column_type.bind_processor(dialect)
    if process is None and isinstance(column_type, JSON):
        # psycopg adapts JSON through a wrapper SQLAlchemy adds elsewhere; plain text casts fine.
        return json.dumps
    return process


def _default_of(model: type[SQLModel], name: str) -> Callable[[], Any]:
    field = model.model_fields[name]
    if field.default_factory is not None:
        return field.default_factory  # type: ignore[return-value]
    default = None if field.is_required() else field.default
    return lambda: default
