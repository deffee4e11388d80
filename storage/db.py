"""Engines and sessions, built by factories: nothing connects at import time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from storage.errors import StorageUnavailableError
from storage.settings import DatabaseSettings
from storage.urls import url_host

SessionFactory = Callable[[], Session]


def create_db_engine(settings: DatabaseSettings) -> Engine:
    """An engine for the configured URL; SQLite gets WAL mode and a busy timeout, PostgreSQL a
    connect timeout and a statement timeout on every connection (a hung server never holds a
    caller for ever)."""
    url = _with_driver(settings.url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _make_folder(engine)
        _tune_sqlite(engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": settings.connect_timeout_s}
    if settings.statement_timeout_s:
        timeout_ms = int(settings.statement_timeout_s * 1000)
        connect_args["options"] = f"-c statement_timeout={timeout_ms}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=settings.connect_timeout_s,
        connect_args=connect_args,
    )


def _with_driver(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _make_folder(engine: Engine) -> None:
    """SQLite creates the file but not its folder (e.g. a fresh per-install data folder)."""
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(engine: Engine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Random uid keys touch pages all over their index: the default 2 MB cache thrashes.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()


def session_factory(engine: Engine) -> SessionFactory:
    """A callable that opens a new session on the engine."""

    def open_session() -> Session:
        return Session(engine, expire_on_commit=False)

    return open_session


@contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_connection(engine: Engine) -> None:
    """Raise StorageUnavailableError unless the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        raise StorageUnavailableError(
            f"database at {engine_host(engine)} unreachable: {_first_line(error.orig)}"
        ) from error


def engine_host(engine: Engine) -> str:
    """Where the engine points (server and database, or SQLite file), never its password."""
    return url_host(engine.url.render_as_string(hide_password=True))


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
