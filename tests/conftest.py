"""Shared fixtures: every storage test runs unchanged on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, text

from storage.db import SessionFactory, create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.factories import at
from tests.pg_cluster import PostgresCluster, find_pg_bin

if TYPE_CHECKING:
    from models.service.model import ServedModel

BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow and multi-process tests share one xdist worker (`--dist loadgroup`, scripts/test):
    each starts several processes with deadlines of their own, and two at once on a 2-core
    machine would contend for the cores; the other worker runs everything else beside them."""
    for item in items:
        if item.get_closest_marker("slow") or item.get_closest_marker("multiprocess"):
            item.add_marker(pytest.mark.xdist_group("processes"))


@pytest.fixture(scope="session")
def empty_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty costbot.toml outside every test's own folder."""
    path = tmp_path_factory.mktemp("config") / "costbot.toml"
    path.touch()
    return path


@pytest.fixture(autouse=True)
def _isolated_config(
    monkeypatch: pytest.MonkeyPatch, empty_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the developer's costbot.toml or COSTBOT_* variables, or writes into their
    data folder: each test has its own (COSTBOT_DATA_DIR, and XDG_DATA_HOME for the default),
    outside its tmp_path so a test may check that folder stays empty."""
    state = tmp_path_factory.mktemp("state")
    for name in list(os.environ):
        if name.startswith("COSTBOT_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("COSTBOT_CONFIG", str(empty_config))
    monkeypatch.setenv("COSTBOT_DATA_DIR", str(state / "costbot-data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(state / "xdg-data"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A real PostgreSQL server for the session; CI must have one, a laptop may skip."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed, but CI must run the PostgreSQL suite")
        pytest.skip("PostgreSQL server binaries not installed")
    # Not under pytest's tmp dir: the server runs as the postgres user, which cannot enter it.
    root = Path(tempfile.mkdtemp(prefix="costbot-pg-"))
    cluster = PostgresCluster(root, bin_dir)
    cluster.init()
    cluster.start()
    yield cluster
    cluster.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


def _fresh_postgres_url(cluster: PostgresCluster) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(DatabaseSettings(url=cluster.admin_url))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return cluster.url_for(name)


@pytest.fixture(params=BACKENDS)
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseSettings:
    """Database settings for an empty database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'costbot.db'}"
    else:
        url = _fresh_postgres_url(request.getfixturevalue("pg_cluster"))
    return fast_test_settings(url, tmp_path)


@pytest.fixture
def postgres_settings(pg_cluster: PostgresCluster, tmp_path: Path) -> DatabaseSettings:
    """Database settings for an empty PostgreSQL database (for tests that stop the server)."""
    return fast_test_settings(_fresh_postgres_url(pg_cluster), tmp_path)


def fast_test_settings(url: str, tmp_path: Path) -> DatabaseSettings:
    """Short timings so retry, spool and replay happen within a test's time."""
    return DatabaseSettings(
        url=url,
        spool_path=tmp_path / "spool.jsonl",
        flush_interval_s=0.05,
        retry_attempts=2,
        retry_base_s=0.05,
        replay_interval_s=0.2,
    )


def _migrated_engine(settings: DatabaseSettings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    """An engine on a migrated, empty database of each backend."""
    yield from _migrated_engine(db_settings)


@pytest.fixture
def pg_engine(postgres_settings: DatabaseSettings) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database."""
    yield from _migrated_engine(postgres_settings)


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    """A session factory on the test's database."""
    return session_factory(engine)


@pytest.fixture
def now() -> datetime:
    """A fixed clock: noon UTC on the day London moves to summer time."""
    return at("2026-03-29T12:00")


# The tiny support model of the service and bot suites (imported lazily: most suites need no torch).


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real support model directory (one LoRA adapter, intent and sentiment heads),
    trained once per session with the project's own training function."""
    from tests.loopback import INTENTS, SENTIMENTS, WINDOW, train_tiny_adapters

    root = tmp_path_factory.mktemp("tiny-support-model")
    return train_tiny_adapters(root, {"intent": INTENTS, "sentiment": SENTIMENTS}, window=WINDOW)


@pytest.fixture(scope="session")
def served_model(adapters_dir: Path) -> ServedModel:
    """The tiny support model, loaded once for the session as the service loads it."""
    from models.service.model import load_served_model
    from models.service.settings import ServiceSettings

    cache = adapters_dir.parent / "onnx-cache"
    return load_served_model(
        ServiceSettings(adapters_dir=adapters_dir, device="cpu", engine_cache_dir=cache)
    )
