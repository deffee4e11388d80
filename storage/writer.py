"""The write path: records are queued, then bulk-inserted in batches by one background thread.

When the database fails, a batch is retried with exponential backoff, then spooled to a local
JSON-lines file; the spool is replayed when the database answers again, or at the next start.
Nothing is dropped: a full queue holds the producer back, and spools if the writer is stuck.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import SQLModel

from storage.bulk import BulkInserter
from storage.db import check_connection
from storage.errors import StorageUnavailableError, WriterClosedError
from storage.settings import DatabaseSettings
from storage.spool import Batch, Row, Spool
from storage.tables import SPOOLABLE_TABLES

log = logging.getLogger(__name__)
_STOP = object()


@dataclass(frozen=True)
class _Rows:
    """One queue item: rows of one table submitted together."""

    table: str
    rows: list[Row]


@dataclass
class WriterStats:
    """Counters a caller can read to prove nothing was lost."""

    submitted: int = 0
    written: int = 0
    spooled: int = 0
    replayed: int = 0
    rejected: int = 0
    failed_batches: int = 0


class RecordWriter:
    """Batches records into bulk inserts; spools and replays across database outages."""

    def __init__(self, engine: Engine, settings: DatabaseSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=settings.max_queue)
        self._spool = Spool(settings.spool_path)
        self._rejects = Spool(settings.spool_path.with_name(settings.spool_path.name + ".rejected"))
        self._bulk = BulkInserter(engine)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._database_down = False
        self._last_probe = 0.0
        self.stats = WriterStats()
        self._count_lock = threading.Lock()

    def start(self) -> RecordWriter:
        """Replay what an earlier run spooled, if the database answers, then start writing."""
        self._try_replay()
        self._thread = threading.Thread(target=self._run, name="costbot-writer", daemon=True)
        self._thread.start()
        return self

    def submit(self, record: SQLModel) -> None:
        """Queue one record of a spoolable table; never blocks for long, never drops."""
        table = record.__tablename__
        self.submit_row(str(table), record.model_dump(exclude={"id"}))

    def submit_row(self, table: str, row: Row) -> None:
        """Queue one row given as column values."""
        self.submit_many(table, [row])

    def submit_many(self, table: str, rows: list[Row]) -> None:
        """Queue rows of one table in one step (the fast path: the service submits per batch).

        A full queue blocks the caller (backpressure) for up to `enqueue_timeout_s`, then the
        rows go to the spool: they are never dropped.
        """
        if self._closed:
            raise WriterClosedError("the record writer is closed")
        if table not in SPOOLABLE_TABLES:
            raise ValueError(f"table {table!r} is not written through the record writer")
        with self._count_lock:
            self.stats.submitted += len(rows)
        try:
            self._queue.put(_Rows(table, rows), timeout=self._settings.enqueue_timeout_s)
        except queue.Full:
            # The writer thread is stuck (not merely busy): keep the records on disk instead.
            self._spool.append([(table, row) for row in rows])
            with self._count_lock:
                self.stats.spooled += len(rows)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything submitted so far is written or spooled."""
        done = threading.Event()
        self._queue.put(done)
        if not done.wait(timeout):
            raise TimeoutError(f"record writer did not flush within {timeout}s")

    def close(self, timeout: float = 60.0) -> None:
        """Flush, stop the thread; later submits raise WriterClosedError."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"record writer did not stop within {timeout}s")

    @property
    def spool_pending(self) -> bool:
        """Whether records wait in the spool for the database to come back."""
        return self._spool.pending()

    @property
    def queue_depth(self) -> int:
        """Records waiting in memory."""
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            batch, markers, stop = self._collect()
            if batch:
                self._write(batch)
            for marker in markers:
                marker.set()
            if stop:
                return
            self._maybe_replay()

    def _collect(self) -> tuple[Batch, list[threading.Event], bool]:
        batch: Batch = []
        markers: list[threading.Event] = []
        deadline = time.monotonic() + self._settings.flush_interval_s
        while len(batch) < self._settings.batch_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                return batch, markers, True
            if isinstance(item, threading.Event):
                markers.append(item)
                break
            batch.extend((item.table, row) for row in item.rows)
        return batch, markers, False

    def _write(self, batch: Batch) -> None:
        if self._database_down:
            self._spool_batch(batch)
            return
        for attempt in range(self._settings.retry_attempts + 1):
            try:
                self._insert(batch)
                self.stats.written += len(batch)
                return
            except DBAPIError as error:
                if not _is_outage(error):
                    self._insert_one_by_one(batch)
                    return
                delay = self._settings.retry_base_s * 2**attempt
                log.warning(
                    "insert of %d records failed (%s); retry in %.1fs",
                    len(batch),
                    type(error.orig).__name__,
                    delay,
                )
                time.sleep(delay)
        self.stats.failed_batches += 1
        self._database_down = True
        self._last_probe = time.monotonic()
        self._spool_batch(batch)

    def _insert_one_by_one(self, batch: Batch) -> None:
        """Isolate rows the database refuses; keep them in the rejects file, write the rest."""
        for item in batch:
            try:
                self._insert([item])
                self.stats.written += 1
            except DBAPIError as error:
                if _is_outage(error):
                    self._spool_batch([item])
                    continue
                self._rejects.append([item])
                self.stats.rejected += 1
                log.error(
                    "record refused by the database (%s); kept in %s",
                    type(error.orig).__name__,
                    self._rejects.path,
                )

    def _spool_batch(self, batch: Batch) -> None:
        self._spool.append(batch)
        with self._count_lock:
            self.stats.spooled += len(batch)
        log.warning(
            "database unavailable: spooled %d records to %s", len(batch), self._settings.spool_path
        )

    def _maybe_replay(self) -> None:
        interval = self._settings.replay_interval_s
        due = time.monotonic() - self._last_probe >= interval
        if (self._database_down or self._spool.pending()) and due:
            self._last_probe = time.monotonic()
            self._try_replay()

    def _try_replay(self) -> None:
        try:
            check_connection(self._engine)
            replayed = self._spool.replay(self._insert)
        except (StorageUnavailableError, DBAPIError) as error:
            self._database_down = True
            log.info("spool replay deferred: %s", type(error).__name__)
            return
        self._database_down = False
        if replayed:
            self.stats.replayed += replayed
            log.info("replayed %d spooled records", replayed)

    def _insert(self, batch: Batch) -> None:
        by_table: dict[str, list[Row]] = defaultdict(list)
        for table, row in batch:
            by_table[table].append(row)
        with self._engine.begin() as connection:
            for table, rows in by_table.items():
                self._bulk.insert(connection, table, rows)


def _is_outage(error: DBAPIError) -> bool:
    """A lost or refused connection (worth a retry), as opposed to a row the database rejects."""
    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
