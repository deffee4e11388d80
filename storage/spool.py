"""A JSON-lines file that holds records while the database is unreachable.

Replay renames the file before reading it, so records spooled during a replay land in a fresh
file; inserts ignore uids already present, so a replay cut short and run again adds each
record exactly once.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.errors import SpoolCorruptError
from storage.tables import SPOOLABLE_TABLES
from storage.types import UTCDateTime

Row = dict[str, Any]
Batch = list[tuple[str, Row]]


class Spool:
    """Append-only record spool with crash-safe replay."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._replaying = self.path.with_name(self.path.name + ".replaying")
        self._lock = threading.Lock()

    def append(self, batch: Batch) -> None:
        """Write the batch durably (fsync) before returning."""
        lines = "".join(_encode(table, row) + "\n" for table, row in batch)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(lines)
                handle.flush()
                os.fsync(handle.fileno())

    def pending(self) -> bool:
        """Whether any spooled record waits for replay."""
        return self.path.exists() or self._replaying.exists()

    def replay(self, insert: Callable[[Batch], None], chunk_size: int = 5000) -> int:
        """Insert every spooled record through `insert`; remove the file only when all landed."""
        with self._lock:
            if not self._replaying.exists():
                if not self.path.exists():
                    return 0
                os.replace(self.path, self._replaying)
        count = 0
        for chunk in _chunks(self._read(self._replaying), chunk_size):
            insert(chunk)
            count += len(chunk)
        self._replaying.unlink()
        return count

    def _read(self, path: Path) -> Iterator[tuple[str, Row]]:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield _decode(line, where=f"{path}:{number}")


def _encode(table: str, row: Row) -> str:
    return json.dumps({"table": table, "row": row}, default=_json_default, separators=(",", ":"))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot spool a {type(value).__name__}")


def _decode(line: str, *, where: str) -> tuple[str, Row]:
    try:
        item = json.loads(line)
        table, row = item["table"], item["row"]
        model = SPOOLABLE_TABLES[table]
    except (ValueError, KeyError, TypeError) as error:
        raise SpoolCorruptError(f"unreadable spool line at {where}: {error}") from None
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        value = row.get(column.name)
        if isinstance(column.type, UTCDateTime) and isinstance(value, str):
            row[column.name] = datetime.fromisoformat(value)
    return table, row


def _chunks(items: Iterator[tuple[str, Row]], size: int) -> Iterator[Batch]:
    chunk: Batch = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
