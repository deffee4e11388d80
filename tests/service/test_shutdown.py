"""SIGTERM drains queued batches and flushes the writer: records == successful responses."""

from __future__ import annotations

import asyncio
import signal
import subprocess
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
from tests.loopback import running
from tests.serve_process import ServeProcess
from tests.service.conftest import service_settings


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(InferenceRecord)).one()


async def _requests_then_sigterm(url: str, process: subprocess.Popen[bytes], n: int) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        calls = [
            asyncio.create_task(client.post("/v1/classify", json={"text": f"card {i}?"}))
            for i in range(n)
        ]
        await _until_queued(client, n)  # all waiting for the first (1 s) batch
        process.send_signal(signal.SIGTERM)
        replies = await asyncio.gather(*calls, return_exceptions=True)
    return [r.status_code if isinstance(r, httpx.Response) else 0 for r in replies]


async def _until_queued(client: httpx.AsyncClient, n: int) -> None:
    """Wait until the service's queue holds `n` texts (a fixed sleep raced a loaded machine)."""
    for _ in range(300):
        metrics = (await client.get("/metrics")).text
        if f"costbot_queue_depth {float(n)}" in metrics:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{n} texts were never queued together")


@pytest.mark.slow
def test_sigterm_serves_queued_requests_and_flushes_records(
    tmp_path: Path, adapters_dir: Path
) -> None:
    """On SQLite only: a subprocess costs ~20 s here; the writer's backends are tested elsewhere."""
    db_settings = fast_test_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    engine = create_db_engine(db_settings)
    upgrade(engine)
    batches = {"COSTBOT_SERVICE__MAX_WAIT_MS": "1000", "COSTBOT_SERVICE__MAX_BATCH_SIZE": "64"}
    service = ServeProcess(db_settings, adapters_dir, env=batches, name="service")
    process = service.process
    try:
        service.wait_ready(timeout_s=90)
        statuses = asyncio.run(_requests_then_sigterm(service.url, process, 24))
        process.wait(timeout=60)
        output = service.output()
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
