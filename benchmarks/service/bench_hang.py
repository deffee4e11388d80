"""A PostgreSQL hang (every server process SIGSTOP'd) under load, then SIGCONT: does the service
keep answering, how fast is /readyz, and is every served inference stored once afterwards?

    python -m benchmarks.service.bench_hang 90     # the hang in seconds (default 90)

Uses the test suite's helpers: a throwaway cluster, the tiny model, `costbot serve` in a child.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.loopback import INTENTS, SENTIMENTS, WINDOW, train_tiny_adapters
from tests.pg_cluster import PostgresCluster, find_pg_bin
from tests.service.test_crash_proofs import Service, _postgres_pids, _signal_all, _wait_stored


class Tally:
    """What the clients saw."""

    def __init__(self) -> None:
        self.served: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []


async def _client(url: str, number: int, stop: float, tally: Tally) -> Any:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        index = 0
        while time.monotonic() < stop:
            index += 1
            started = time.monotonic()
            reply = await http.post("/v1/classify", json={"text": f"card {number} {index}"})
            tally.latencies.append(time.monotonic() - started)
            tally.statuses[reply.status_code] = tally.statuses.get(reply.status_code, 0) + 1
            if reply.status_code == 200:
                tally.served.add(reply.json()["request_id"])
        ready = await http.get("/readyz")
        return ready.elapsed.total_seconds(), ready.status_code, ready.json()


async def _load(url: str, seconds: float, tally: Tally) -> list[Any]:
    stop = time.monotonic() + seconds
    return list(await asyncio.gather(*[_client(url, n, stop, tally) for n in range(4)]))


def _database(cluster: PostgresCluster, root: Path) -> DatabaseSettings:
    name = f"h_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(DatabaseSettings(url=cluster.admin_url))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return DatabaseSettings(url=cluster.url_for(name), spool_path=root / "spool.jsonl")


def main(hang_s: float) -> None:
    """Run the hang and print what happened."""
    root = Path(tempfile.mkdtemp(prefix="costbot-hang-"))
    model = root / "model"
    adapters = train_tiny_adapters(
        model, {"intent": INTENTS, "sentiment": SENTIMENTS}, window=WINDOW
    )
    bin_dir = find_pg_bin()
    assert bin_dir is not None, "PostgreSQL server binaries are needed"
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="costbot-hang-pg-")), bin_dir)
    cluster.init()
    cluster.start()
    database = _database(cluster, root)
    engine = create_db_engine(database)
    upgrade(engine)
    service = Service(database, adapters)
    service.wait_ready()
    tally = Tally()
    pids = _postgres_pids(cluster)
    _signal_all(pids, signal.SIGSTOP)
    try:
        readies = asyncio.run(_load(service.url, hang_s, tally))
    finally:
        _signal_all(pids, signal.SIGCONT)
    ids, rows, uids = _wait_stored(engine, tally.served, timeout=120)
    service.process.send_signal(signal.SIGTERM)
    service.process.wait(60)
    cluster.stop("immediate")
    latencies = sorted(tally.latencies)
    print(f"hang {hang_s:.0f} s: statuses {tally.statuses}")
    median, worst = latencies[len(latencies) // 2] * 1000, latencies[-1] * 1000
    print(f"latency p50 {median:.0f} ms, max {worst:.0f} ms")
    print(f"/readyz during the hang: {readies[0]}")
    missing = len(tally.served - ids)
    print(f"served {len(tally.served)}, stored {rows} rows / {uids} uids; {missing} unrecorded")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 90.0)
