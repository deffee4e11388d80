"""`costbot serve --replicas 2` on Ray Serve (a local Ray), on one real PostgreSQL: both replicas
answer on the one port, each serves with its own replica id and spool, and SIGTERM stops them
after every successful response's record is stored, once. Needs the `scale` extra (ray[serve]),
which CI does not install: Ray's footprint (about 3.4 GB resident with two replicas, 100 s for
this test on a loaded 2-core machine) does not fit CI's time; the CI proof of replicas is
test_replicas.py, with two service processes (docs/scaling.md)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.loopback import free_socket
from tests.multiprocess.test_replicas import REPO, Load

pytestmark = [pytest.mark.multiprocess, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _ray_installed() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray Serve not installed (pip install 'costbot[scale]')")


def _start(database: DatabaseSettings, adapters_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COSTBOT_DATABASE__URL": database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(database.spool_path),
        "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters_dir),
        "COSTBOT_SERVICE__DEVICE": "cpu",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    command = [sys.executable, "-m", "costbot", "serve", "--replicas", "2", "--port", str(port)]
    log = database.spool_path.with_name("ray-serve.log").open("wb")
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stored(url: str) -> dict[str, tuple[str, int]]:
    engine = create_db_engine(DatabaseSettings(url=url))
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT request_id, min(replica_id), count(*) FROM inference_record GROUP BY 1")
        ).all()
    engine.dispose()
    return {row[0]: (row[1], int(row[2])) for row in rows}


def _wait_both_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until requests are answered (both replicas loaded: Ray routes to either)."""
    deadline = time.monotonic() + 150
    answered = 0
    while time.monotonic() < deadline and process.poll() is None and answered < 20:
        try:
            reply = httpx.post(f"{url}/v1/classify", json={"text": "where is my card"}, timeout=10)
            answered = answered + 1 if reply.status_code == 200 else 0
        except httpx.TransportError:
            answered = 0
        time.sleep(0.1 if answered else 1.0)
    assert answered >= 20, log.read_text(errors="replace")[-4000:]


def test_two_ray_serve_replicas_answer_on_one_port_each_with_its_own_spool(
    postgres_settings: DatabaseSettings, adapters_dir: Path
) -> None:
    started = time.monotonic()
    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    engine.dispose()
    with free_socket() as sock:
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    process = _start(postgres_settings, adapters_dir, port)
    log = postgres_settings.spool_path.with_name("ray-serve.log")
    try:
        _wait_both_ready(url, process, log)
        load = Load([url])
        asyncio.run(load.run(seconds=5.0, clients=6, during={}))
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(90)
        os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
    stored = _stored(postgres_settings.url)
    assert status == 0, log.read_text(errors="replace")[-4000:]
    assert load.served and not load.served - set(stored), "a successful response has no record"
    assert all(stored[r][1] == 1 for r in load.served), "a response has more than one record"
    assert {replica for replica, _ in stored.values()} == {"ray-0", "ray-1"}
    spools = sorted(p.name for p in postgres_settings.spool_path.parent.glob("spool.p-service-*"))
    assert spools == ["spool.p-service-ray-0.jsonl.lock", "spool.p-service-ray-1.jsonl.lock"]
    elapsed = time.monotonic() - started
    print(
        f"served {len(load.served)} through Ray Serve ({load.failed} asked again); {elapsed:.1f} s"
    )
