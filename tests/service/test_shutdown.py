"""SIGTERM drains queued batches and flushes the writer: records == successful responses."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.conftest import fast_test_settings
from tests.loopback import free_socket, running
from tests.service.conftest import service_settings

REPO = Path(__file__).resolve().parents[2]


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(InferenceRecord)).one()


def _start_server(
    database: DatabaseSettings, adapters_dir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    with free_socket() as sock:
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "COSTBOT_DATABASE__URL": database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(database.spool_path),
        "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters_dir),
        "COSTBOT_SERVICE__DEVICE": "cpu",
        "COSTBOT_SERVICE__MAX_WAIT_MS": "400",
        "COSTBOT_SERVICE__MAX_BATCH_SIZE": "64",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "costbot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"server not ready: {process.communicate()[0].decode()[-3000:]}")


async def _requests_then_sigterm(url: str, process: subprocess.Popen[bytes], n: int) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        calls = [
            asyncio.create_task(client.post("/v1/classify", json={"text": f"card {i}?"}))
            for i in range(n)
        ]
        await asyncio.sleep(0.2)  # all sent, all waiting for the first (400 ms) batch
        process.send_signal(signal.SIGTERM)
        replies = await asyncio.gather(*calls, return_exceptions=True)
    return [r.status_code if isinstance(r, httpx.Response) else 0 for r in replies]


@pytest.mark.slow
def test_sigterm_serves_queued_requests_and_flushes_records(
    tmp_path: Path, adapters_dir: Path
) -> None:
    """On SQLite only: a subprocess costs ~20 s here; the writer's backends are tested elsewhere."""
    db_settings = fast_test_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    engine = create_db_engine(db_settings)
    upgrade(engine)
    process, url = _start_server(db_settings, adapters_dir)
    try:
        _wait_ready(process, url)
        statuses = asyncio.run(_requests_then_sigterm(url, process, 24))
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
    # uvicorn re-raises the signal once its graceful shutdown has finished
    assert process.returncode in (0, -signal.SIGTERM), output[-3000:]
    assert statuses == [200] * 24
    assert _count(engine) == 24
    assert "record writer closed" in output


def test_in_thread_shutdown_flushes_every_record(
    engine: Engine, db_settings: DatabaseSettings, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(db_settings, adapters_dir)
    settings.database.flush_interval_s = 30.0  # only the shutdown flush can write them in time
    with running(create_app(settings, model=served_model)) as url:
        served = sum(
            httpx.post(f"{url}/v1/classify", json={"text": f"hi {i}"}, timeout=30).status_code
            == 200
            for i in range(5)
        )
    assert served == 5
    assert _count(engine) == 5
