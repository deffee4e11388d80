"""One leader for scheduled work across processes: a PostgreSQL session advisory lock held on a
dedicated connection for as long as the process leads.

Whoever holds the lock runs the scheduled jobs; the others check again on each tick and take
over once the leader's connection is gone (the server drops a session's advisory locks with the
session: a crash, a kill, a network cut). On SQLite there is one process, which always leads.

Leading is an efficiency, not the guarantee of once: a leader whose connection just died may
finish a tick before it notices, so the jobs stay safe to run twice (summaries and alerts are
claimed per channel, the aggregation folds under its own row lock).
"""

from __future__ import annotations

import contextlib
import logging
import threading

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

# The lock's key: "costbot" read as a 64-bit integer, the same in every process of an install.
LEADER_LOCK_KEY = int.from_bytes(b"costbot", "big")


class Leadership:
    """Whether this process leads the scheduled work; `refresh` (re)checks and tries to lead."""

    def __init__(self, engine: Engine, *, key: int = LEADER_LOCK_KEY) -> None:
        self._engine, self._key = engine, key
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        self.shared = engine.dialect.name == "postgresql"

    @property
    def leading(self) -> bool:
        """As of the last refresh (always True on SQLite)."""
        return not self.shared or self._connection is not None

    def refresh(self) -> bool:
        """Check the held lock's connection still answers, else try to take the lock.

        Returns whether this process leads now; a database that does not answer means not
        leading (logged once per change), never an exception."""
        if not self.shared:
            return True
        with self._lock:
            was = self._connection is not None
            if self._connection is not None and not self._alive(self._connection):
                self._drop()
            if self._connection is None:
                self._connection = self._try_lock()
            now = self._connection is not None
        if now != was:
            log.info(
                "scheduled work: %s", "leading" if now else "not leading (another process leads)"
            )
        return now

    def release(self) -> None:
        """Give the lock up (at shutdown), so another process leads at once."""
        with self._lock:
            if self._connection is not None:
                # A failed unlock means the session is gone, and its lock with it.
                with contextlib.suppress(DBAPIError):
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    )
                self._drop()

    def _try_lock(self) -> Connection | None:
        try:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            return None
        connection.detach()  # its own session: closing it really closes it (and frees the lock)
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar()
        except DBAPIError:
            taken = False
        if not taken:
            connection.close()
            return None
        return connection

    @staticmethod
    def _alive(connection: Connection) -> bool:
        try:
            connection.execute(text("SELECT 1"))
        except DBAPIError:
            return False
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DBAPIError):
                connection.close()
