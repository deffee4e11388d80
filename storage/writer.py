"""The write path: records are queued, then bulk-inserted in batches by one background thread.

Write-ahead on trouble: a batch the database does not take at once goes to this process's spool
(fsync'd) before anything is retried, and while the database is down or an insert hangs past
`stall_s`, submissions are spooled by the caller itself, so a crash loses nothing it was
handed. The spool is replayed, with a growing back-off, when the database answers again or at
the next start. A row the database refuses is quarantined (kept in a file, counted, reported),
never dropped, and never stops the thread. Shutdown spools what it cannot write in time.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import SQLModel

from storage.bulk import BulkInserter
from storage.db import check_connection
from storage.errors import StorageUnavailableError, WriterClosedError
from storage.settings import DatabaseSettings
from storage.spool import Batch, Row, Spool, family_spools, process_spool_path
from storage.tables import SPOOLABLE_TABLES

log = logging.getLogger(__name__)
_STOP = object()
SPOOL_LOG_EVERY_S = 5.0
# What a refused row raises: the database's refusal, or the driver failing to bind a value
# (sqlite3 raises OverflowError for an integer beyond 64 bits).
_REFUSALS = (SQLAlchemyError, ValueError, TypeError, OverflowError)


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
    quarantined: int = 0
    torn_lines: int = 0
    lost: int = 0
    failed_batches: int = 0
    thread_errors: int = 0
    cpu_s: float = 0.0  # CPU seconds the writer thread spent writing, spooling and replaying

    @property
    def rejected(self) -> int:
        """Rows the database refused (the old name of `quarantined`)."""
        return self.quarantined


class RecordWriter:
    """Batches records into bulk inserts; spools and replays across database trouble."""

    def __init__(self, engine: Engine, settings: DatabaseSettings, *, role: str = "app") -> None:
        self._engine = engine
        self._settings = settings
        self._queue: queue.Queue[Any] = queue.Queue()
        # Wakes the thread before its interval ends: a full batch, a flush, a stop, no room.
        self._urgent = threading.Event()
        self._room = threading.Condition()
        self._queued_rows = 0
        self._spool, self.replica_id = _own_spool(settings, role)
        self.quarantine_path = self._spool.path.with_name(self._spool.path.name + ".quarantine")
        self._quarantine = Spool(self.quarantine_path)
        self._bulk = BulkInserter(engine)
        self._thread: threading.Thread | None = None
        self._watch: threading.Thread | None = None
        self._closed = False
        self._stopped = threading.Event()
        self._database_down = False
        self._stalled = False
        self._busy_since: float | None = None
        self._inflight: Batch | None = None
        self._inflight_spooled = False
        self._next_probe = 0.0
        self._backoff = settings.retry_base_s
        self._problem = ""
        self._unlogged, self._logged_at = 0, float("-inf")
        self.stats = WriterStats()
        self._count_lock = threading.Lock()

    @property
    def spool_path(self) -> str:
        """This process's spool file."""
        return str(self._spool.path)

    def start(self) -> RecordWriter:
        """Start writing; the thread first replays what earlier runs spooled."""
        self._thread = threading.Thread(target=self._run, name="costbot-writer", daemon=True)
        self._watch = threading.Thread(target=self._watchdog, name="costbot-writer-watch")
        self._watch.daemon = True
        self._thread.start()
        self._watch.start()
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

        While the database is down or hangs, the rows are spooled here, before returning. When
        `max_queue` rows wait already, the caller is held back up to `enqueue_timeout_s`, then
        the rows go to the spool: they are never dropped.
        """
        if self._closed:
            raise WriterClosedError("the record writer is closed")
        if table not in SPOOLABLE_TABLES:
            raise ValueError(f"table {table!r} is not written through the record writer")
        with self._count_lock:
            self.stats.submitted += len(rows)
        if self._database_down or self._stalled or not self._wait_for_room(len(rows)):
            self._spool_rows([(table, row) for row in rows], raise_on_error=True)
            return
        self._queue.put(_Rows(table, rows))
        if self._queued_rows >= self._settings.batch_size:
            self._urgent.set()

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything submitted so far is written or spooled."""
        done = threading.Event()
        self._queue.put(done)
        self._urgent.set()
        if not done.wait(timeout):
            raise TimeoutError(f"record writer did not flush within {timeout}s")

    def close(self, timeout: float = 10.0) -> None:
        """Write what waits, within `timeout`; spool the rest; later submits raise
        WriterClosedError. Never gives records up: what cannot be written is on disk."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._urgent.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the database did not answer within %.0fs: spooling the rest", timeout)
                self._spool_inflight()
                self._spill_queue()
        else:
            self._spill_queue()
        self._stopped.set()
        if self._thread is None or not self._thread.is_alive():
            self._spool.release()

    @property
    def spool_pending(self) -> bool:
        """Whether records wait in the spool for the database to come back."""
        return self._spool.pending()

    @property
    def queue_depth(self) -> int:
        """Rows waiting in memory."""
        return self._queued_rows

    def problems(self) -> list[str]:
        """What is degraded in the write path, in words (empty when all is well)."""
        stats, found = self.stats, []
        if self._stalled:
            found.append("the database is not answering: records are spooled")
        elif self._database_down:
            found.append("the database is unavailable: records are spooled")
        if stats.quarantined:
            found.append(
                f"{stats.quarantined} records refused by the database, kept in "
                f"{self.quarantine_path}"
            )
        if stats.torn_lines:
            found.append(f"{stats.torn_lines} unreadable spool lines set aside")
        if stats.lost or self._problem:
            found.append(f"{stats.lost} records could not be spooled: {self._problem}")
        if stats.thread_errors:
            found.append(f"the writer thread recovered from {stats.thread_errors} errors")
        return found

    # --- the writer thread ---

    def _run(self) -> None:
        try:
            self._replay_all()
        except Exception:  # the thread must outlive any bug: a dead writer loses everything
            self.stats.thread_errors += 1
            log.exception("spool replay at start failed; the writer goes on")
        while True:
            try:
                if self._step():
                    break
            except Exception:  # the thread must outlive any bug: a dead writer loses everything
                self.stats.thread_errors += 1
                log.exception("record writer step failed; the writer goes on")
                time.sleep(0.1)
        if self._stopped.is_set():
            self._spool.release()

    def _step(self) -> bool:
        batch, markers, stop = self._collect()
        started = time.thread_time()
        try:
            if batch:
                self._write(batch)
        finally:
            for marker in markers:
                marker.set()
            self.stats.cpu_s += time.thread_time() - started
        if stop:
            return True
        started = time.thread_time()
        self._maybe_replay()
        self.stats.cpu_s += time.thread_time() - started
        return False

    def _collect(self) -> tuple[Batch, list[threading.Event], bool]:
        """What queued during one interval (or until urgent), in order, up to a batch; stops
        at a flush marker, so what was submitted after it waits for the next batch."""
        batch: Batch = []
        markers: list[threading.Event] = []
        self._sleep(self._settings.flush_interval_s)
        while len(batch) < self._settings.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, markers, True
            if isinstance(item, threading.Event):
                markers.append(item)
                break
            self._taken(len(item.rows))
            batch.extend((item.table, row) for row in item.rows)
        else:  # a full batch: what is left (a flush marker, perhaps) goes next, without sleeping
            self._urgent.set()
        return batch, markers, False

    def _sleep(self, interval_s: float) -> None:
        """Sleep through the interval unless a full batch, a flush or a stop wakes the thread.

        Submissions do not wake it one by one: at one served text at a time, a wake-up per
        record cost the writer thread CPU and the serving threads the GIL for nothing."""
        if self._queued_rows < self._settings.batch_size:
            self._urgent.wait(interval_s)
        self._urgent.clear()  # a later set() (put before it) is seen by the next interval

    def _write(self, batch: Batch) -> None:
        if self._database_down:
            self._spool_rows(batch)
            return
        try:
            self._insert(batch)
            self._count_written(len(batch))
        except DBAPIError as error:
            if _is_outage(error):
                self._went_down(batch, error)
            else:
                self._isolate_and_spool(batch)
        except _REFUSALS:
            self._isolate_and_spool(batch)

    def _went_down(self, batch: Batch, error: DBAPIError) -> None:
        """Write-ahead: the batch goes to disk now; the spool's replay does the retrying."""
        log.warning("insert of %d records failed (%s)", len(batch), type(error.orig).__name__)
        self.stats.failed_batches += 1
        self._database_down = True
        self._backoff = self._settings.retry_base_s
        self._next_probe = time.monotonic() + self._backoff
        if not self._inflight_spooled:
            self._spool_rows(batch)
        self._inflight_spooled = False

    def _isolate_and_spool(self, batch: Batch) -> None:
        unwritten = self._isolate(batch)
        if unwritten:
            self._database_down = True
            self._spool_rows(unwritten)

    def _isolate(self, batch: Batch) -> Batch:
        """Write what the database takes, bisecting to the rows it refuses (quarantined);
        return the rows left unwritten because the database went away meanwhile."""
        if len(batch) == 1:
            return self._insert_single(batch)
        middle = len(batch) // 2
        unwritten: Batch = []
        for half in (batch[:middle], batch[middle:]):
            try:
                self._insert(half)
                self._count_written(len(half))
            except DBAPIError as error:
                unwritten += half if _is_outage(error) else self._isolate(half)
            except _REFUSALS:
                unwritten += self._isolate(half)
        return unwritten

    def _insert_single(self, batch: Batch) -> Batch:
        try:
            self._insert(batch)
            self._count_written(1)
            return []
        except DBAPIError as error:
            if _is_outage(error):
                return batch
            self._quarantine_rows(batch, error)
        except _REFUSALS as error:
            self._quarantine_rows(batch, error)
        return []

    def _quarantine_rows(self, batch: Batch, error: BaseException) -> None:
        try:
            self._quarantine.append(batch)
        except (OSError, TypeError, ValueError) as failure:
            self._lose(len(batch), f"quarantine failed: {failure}")
            return
        with self._count_lock:
            self.stats.quarantined += len(batch)
        cause = getattr(error, "orig", None) or error
        log.error(
            "a record was refused by the database (%s: %s); kept in %s",
            type(cause).__name__,
            str(cause)[:200],
            self.quarantine_path,
        )

    @contextmanager
    def _busy(self, batch: Batch) -> Iterator[None]:
        """A database call with the watchdog looking: a hang gets the batch spooled."""
        self._inflight, self._inflight_spooled = batch, False
        self._busy_since = time.monotonic()
        try:
            yield
        finally:
            self._busy_since = None
            self._inflight = None
            self._stalled = False

    def _maybe_replay(self) -> None:
        pending = self._database_down or self._spool.pending()
        if pending and time.monotonic() >= self._next_probe:
            self._try_replay()

    def _try_replay(self) -> None:
        try:
            with self._busy([]):
                check_connection(self._engine)
            replayed = self._replay(self._spool)
        except (StorageUnavailableError, DBAPIError) as error:
            self._database_down = True
            self._backoff = min(self._backoff * 2, self._settings.replay_interval_s)
            self._next_probe = time.monotonic() + self._backoff
            log.info("spool replay deferred %.1fs: %s", self._backoff, type(error).__name__)
            return
        self._database_down = False
        self._backoff = self._settings.retry_base_s
        self._next_probe = time.monotonic() + self._settings.replay_interval_s
        if replayed:
            log.info("replayed %d spooled records", replayed)

    def _replay_all(self) -> None:
        """At start: this process's spool, and every spool no live process holds."""
        try:
            with self._busy([]):
                check_connection(self._engine)
        except StorageUnavailableError as error:
            self._database_down = True
            log.info("spool replay deferred: %s", error)
            return
        for path in family_spools(self._settings.spool_path):
            spool = self._spool if path == self._spool.path else Spool(path)
            try:
                self._replay(spool)
            except (StorageUnavailableError, DBAPIError) as error:
                self._database_down = True
                log.info("spool replay deferred: %s", type(error).__name__)
                return

    def _replay(self, spool: Spool) -> int:
        before = spool.torn_lines
        replayed = spool.replay(self._replay_chunk)
        with self._count_lock:
            self.stats.replayed += replayed
            self.stats.torn_lines += spool.torn_lines - before
        return replayed

    def _replay_chunk(self, chunk: Batch) -> None:
        """Insert a spooled chunk; refused rows are quarantined; an outage stops the replay."""
        try:
            self._insert(chunk)
            return
        except DBAPIError as error:
            if _is_outage(error):
                raise
        except _REFUSALS:
            pass
        if self._isolate(chunk):
            raise StorageUnavailableError("the database went away during the replay")

    def _insert(self, batch: Batch) -> None:
        by_table: dict[str, list[Row]] = defaultdict(list)
        for table, row in batch:
            by_table[table].append(row)
        with self._busy(batch), self._engine.begin() as connection:
            for table, rows in by_table.items():
                self._bulk.insert(connection, table, rows)

    # --- the watchdog: a hung database must not keep records only in memory ---

    def _watchdog(self) -> None:
        period = min(0.25, self._settings.stall_s / 2)
        while not self._stopped.wait(period):
            since = self._busy_since
            if since is not None and time.monotonic() - since > self._settings.stall_s:
                if not self._stalled:
                    log.warning("the database has not answered for %.1fs", self._settings.stall_s)
                self._stalled = True
                self._spool_inflight()
                self._spill_queue()

    def _spool_inflight(self) -> None:
        batch = self._inflight
        if batch and not self._inflight_spooled:
            self._inflight_spooled = True
            self._spool_rows(batch)

    def _spill_queue(self) -> None:
        """Move every queued row to the spool (markers stay queued for the thread)."""
        rows: Batch = []
        others: list[Any] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Rows):
                self._taken(len(item.rows))
                rows.extend((item.table, row) for row in item.rows)
            else:
                others.append(item)
        if rows:
            self._spool_rows(rows)
        for item in others:
            if isinstance(item, threading.Event) and self._thread_stuck():
                item.set()  # everything before it is on disk now
            else:
                self._queue.put(item)

    def _thread_stuck(self) -> bool:
        return self._busy_since is not None or (
            self._thread is not None and not self._thread.is_alive()
        )

    # --- counting and room ---

    def _wait_for_room(self, count: int) -> bool:
        limit, timeout = self._settings.max_queue, self._settings.enqueue_timeout_s
        if self._queued_rows + count > limit:
            self._urgent.set()  # make room now, not at the end of the interval
        with self._room:
            fits = self._room.wait_for(
                lambda: self._queued_rows == 0 or self._queued_rows + count <= limit, timeout
            )
            if fits:
                self._queued_rows += count
            return fits

    def _taken(self, count: int) -> None:
        with self._room:
            self._queued_rows -= count
            self._room.notify_all()

    def _count_written(self, count: int) -> None:
        with self._count_lock:
            self.stats.written += count

    def _spool_rows(self, batch: Batch, *, raise_on_error: bool = False) -> None:
        try:
            self._spool.append(batch)
        except (OSError, TypeError, ValueError) as error:
            self._lose(len(batch), f"{type(error).__name__}: {error}")
            if raise_on_error:
                raise
            return
        with self._count_lock:
            self.stats.spooled += len(batch)
            self._unlogged += len(batch)
            now = time.monotonic()
            if now - self._logged_at < SPOOL_LOG_EVERY_S:
                return  # an outage spools every batch: one line every few seconds is enough
            count, self._unlogged, self._logged_at = self._unlogged, 0, now
        log.warning("spooled %d records to %s", count, self._spool.path)

    def _lose(self, count: int, reason: str) -> None:
        with self._count_lock:
            self.stats.lost += count
        self._problem = reason
        log.error("%d records could not be kept: %s", count, reason)


def _own_spool(settings: DatabaseSettings, role: str) -> tuple[Spool, str]:
    """This process's spool and the replica id it is named after: the configured one, or with
    host name and pid added when another live process holds that spool (replicas scaled from
    one definition, e.g. `docker compose --scale`, share a volume, and each container's pid
    is 1: its host name tells them apart)."""
    spool = Spool(process_spool_path(settings.spool_path, role=role, replica=settings.replica_id))
    if spool.acquire():
        return spool, settings.replica_id
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:24]
    replica = f"{settings.replica_id}-{host}-{os.getpid()}-{id(spool):x}"
    spool = Spool(process_spool_path(settings.spool_path, role=role, replica=replica))
    spool.acquire()
    return spool, replica


def _is_outage(error: DBAPIError) -> bool:
    """A lost or refused connection (worth a retry), as opposed to a row the database rejects."""
    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)
