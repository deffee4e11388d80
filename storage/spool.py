"""JSON-lines files that hold records while the database cannot take them.

Every process writes its own spool (``<stem>.p-<role>-<replica><suffix>`` beside the configured
``spool_path``) and holds an exclusive lock on it while it runs; a spool whose lock is free
belongs to no live process, so whoever starts next may replay it. Replay takes the lock,
renames the file before reading it (records spooled meanwhile land in a fresh file), and inserts
ignore uids already present: a replay cut short, or two processes racing, add each record once.
A line that cannot be read back (a write torn by a crash) is moved to a ``.torn`` file and
counted; the rest are replayed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from storage.errors import SpoolCorruptError
from storage.tables import SPOOLABLE_TABLES
from storage.types import UTCDateTime

log = logging.getLogger(__name__)
Row = dict[str, Any]
Batch = list[tuple[str, Row]]
PROCESS_MARK = ".p-"


def process_spool_path(family: Path, *, role: str, replica: str) -> Path:
    """The spool of one process (role and replica id) in the family of `family`."""
    family = Path(family)
    return family.with_name(f"{family.stem}{PROCESS_MARK}{role}-{replica}{family.suffix}")


def family_spools(family: Path) -> list[Path]:
    """Every spool of the family: the configured file itself and each process's spool."""
    family = Path(family)
    paths = {family, *family.parent.glob(f"{family.stem}{PROCESS_MARK}*{family.suffix}")}
    replaying = family.parent.glob(f"{family.stem}*{family.suffix}.replaying")
    paths |= {p.with_name(p.name.removesuffix(".replaying")) for p in replaying}
    return sorted(p for p in paths if _is_spool_name(p, family))


def _is_spool_name(path: Path, family: Path) -> bool:
    return path == family or (
        path.name.startswith(family.stem + PROCESS_MARK) and path.name.endswith(family.suffix)
    )


class Spool:
    """Append-only record spool with crash-safe, lock-guarded replay."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._replaying = self.path.with_name(self.path.name + ".replaying")
        self.torn_path = self.path.with_name(self.path.name + ".torn")
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock = threading.Lock()
        self._owner: IO[bytes] | None = None
        self.torn_lines = 0

    def acquire(self) -> bool:
        """Take this spool's process lock without waiting; False when another holder has it."""
        if self._owner is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._lock_path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._owner = handle
        return True

    def release(self) -> None:
        """Give the process lock back (the kernel also does when the process dies)."""
        if self._owner is not None:
            self._owner.close()
            self._owner = None

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
        """Insert every spooled record through `insert`; remove the file only when all landed.

        Returns 0 without reading when another process holds the spool's lock.
        """
        held = self._owner is not None
        if not held and not self.acquire():
            return 0
        try:
            return self._replay_locked(insert, chunk_size)
        finally:
            if not held:
                self.release()

    def _replay_locked(self, insert: Callable[[Batch], None], chunk_size: int) -> int:
        with self._lock:
            if not self._replaying.exists():
                try:
                    os.replace(self.path, self._replaying)
                except FileNotFoundError:
                    return 0
        count = 0
        for chunk in _chunks(self._read(self._replaying), chunk_size):
            insert(chunk)
            count += len(chunk)
        self._replaying.unlink(missing_ok=True)
        return count

    def _read(self, path: Path) -> Iterator[tuple[str, Row]]:
        try:
            handle = path.open(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield _decode(line, where=f"{path}:{number}")
                except SpoolCorruptError as error:
                    self._set_aside(line, error)

    def _set_aside(self, line: str, error: SpoolCorruptError) -> None:
        """Keep an unreadable line in the `.torn` file and go on with the next one."""
        data = line.encode("utf-8", errors="surrogateescape").rstrip(b"\n") + b"\n"
        with self.torn_path.open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.torn_lines += 1
        log.error("%s; the line is kept in %s", error, self.torn_path)


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
        for column in model.__table__.columns:  # type: ignore[attr-defined]
            value = row.get(column.name)
            if isinstance(column.type, UTCDateTime) and isinstance(value, str):
                row[column.name] = datetime.fromisoformat(value)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SpoolCorruptError(f"unreadable spool line at {where}: {error}") from None
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
