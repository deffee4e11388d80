"""Fast bulk inserts that skip rows whose uid is already stored.

SQLAlchemy's generic executemany spends most of its time building per-row parameter dicts;
here the statement is compiled once per table and dialect, each column's own bind processor
(the same conversion SQLAlchemy applies) runs in one tight loop, and the driver gets tuples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table
from sqlmodel import SQLModel

from storage.tables import SPOOLABLE_TABLES

Row = dict[str, Any]


@dataclass(frozen=True)
class _Plan:
    sql: str
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: tuple[Callable[[], Any], ...]


class BulkInserter:
    """Inserts rows of the spoolable tables, ignoring duplicate uids, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._dialect = engine.dialect
        self._plans = {name: self._plan(model) for name, model in SPOOLABLE_TABLES.items()}

    def insert(self, connection: Connection, table: str, rows: Sequence[Row]) -> None:
        """Insert the rows in one executemany; a uid already present is skipped."""
        plan = self._plans[table]
        values = [self._values(plan, row) for row in rows]
        connection.exec_driver_sql(plan.sql, values)

    def _values(self, plan: _Plan, row: Row) -> tuple[Any, ...]:
        values = []
        for column, process, default in zip(
            plan.columns, plan.processors, plan.defaults, strict=True
        ):
            value = row[column] if column in row else default()
            values.append(process(value) if process is not None and value is not None else value)
        return tuple(values)

    def _plan(self, model: type[SQLModel]) -> _Plan:
        table: Table = model.__table__  # type: ignore[attr-defined]
        columns = tuple(c for c in table.columns if not c.primary_key or c.name != "id")
        marker = "?" if self._dialect.paramstyle == "qmark" else "%s"
        names = ", ".join(c.name for c in columns)
        sql = (
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))}) "
            "ON CONFLICT (uid) DO NOTHING"
        )
        processors = tuple(_processor(c.type, self._dialect) for c in columns)
        defaults = tuple(_default_of(model, c.name) for c in columns)
        return _Plan(sql, tuple(c.name for c in columns), processors, defaults)


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
