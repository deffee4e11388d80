"""Proof with real processes on one real PostgreSQL: two service replicas (two `costbot serve`
processes, replica ids `a` and `b`) and two bot/scheduler processes (job_child.py: the
scheduled work under the leader lock, posts to a file). Clients drive load through both
replicas; the load crosses a budget; a price changes mid-run (the replicas reload prices only
every 60 s); replica `b` is stopped mid-run (SIGTERM) and its clients go on with `a`. Then:
every successful response has exactly one record, each record names the replica that served
it, each replica had its own spool, every record is priced by the version valid at its
created_at, the roll-ups equal the raw sums, and each alert and the summary is posted once.

Two service processes, not Ray Serve replicas: Ray's footprint does not fit CI (see
test_ray_replicas.py and docs/scaling.md)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from costing.budgets import make_scope, set_budget
from costing.prices import PriceBook, set_price
from costing.settings import PriceSettings
from costing.units import Money
from storage.db import create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.sums import raw_sums, rollup_sums
from tests.serve_process import REPO, ServeProcess

LOAD_S = 8.0
SETTLE_S = 1.0
BUDGET_PICO = 2_000_000  # about 30 answers' cost on a CPU: crossed early in the run
pytestmark = [pytest.mark.multiprocess, pytest.mark.postgres, pytest.mark.slow]


class Replica(ServeProcess):
    """`costbot serve` in a child process with its own replica id, on a free loopback port."""

    def __init__(self, database: DatabaseSettings, adapters_dir: Path, *, replica: str) -> None:
        env = {
            "COSTBOT_DATABASE__REPLICA_ID": replica,
            "COSTBOT_DATABASE__FLUSH_INTERVAL_S": "0.05",
            "COSTBOT_SERVICE__PRICE_REFRESH_S": "60",
        }
        super().__init__(database, adapters_dir, env=env, name=f"replica-{replica}")

    def stop(self) -> None:
        """SIGTERM: it drains, flushes its writer and exits (uvicorn re-raises the signal)."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(60)
        log = self.output()
        assert status in (0, -signal.SIGTERM), f"exit {status}: {log[-3000:]}"
        assert "record writer closed" in log and "lost=0" in log, log[-3000:]


def _jobs(url: str, stop: Path, posts: Path) -> list[subprocess.Popen[bytes]]:
    child = "tests.multiprocess.job_child"
    command = [sys.executable, "-m", child, url, str(stop), str(SETTLE_S), str(posts)]
    return [subprocess.Popen(command, cwd=REPO) for _ in range(2)]


def _posts(posts: Path, engine: Engine) -> tuple[list[tuple[int, str]], int, int]:
    """(channel, title) of every post; alerts raised; alerts not yet marked posted."""
    lines = [json.loads(line) for line in posts.read_text().splitlines()] if posts.exists() else []
    with engine.connect() as connection:
        raised, pending = connection.execute(
            text("SELECT count(*), count(*) - count(posted_at) FROM alert")
        ).one()
    return [(line["channel"], line["title"]) for line in lines], int(raised), int(pending)


class Load:
    """Clients that ask both replicas in turn; a refused or failed request is asked again on
    the other replica (what a load balancer does), so a stopped replica costs no answer."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.served: set[str] = set()
        self.failed = 0

    async def run(self, *, seconds: float, clients: int, during: dict[float, object]) -> None:
        stop = time.monotonic() + seconds
        tasks = [asyncio.create_task(self._client(n, stop)) for n in range(clients)]
        started = time.monotonic()
        for at_s, action in sorted(during.items()):
            await asyncio.sleep(max(0.0, started + at_s - time.monotonic()))
            await asyncio.to_thread(action)  # type: ignore[arg-type]
        await asyncio.gather(*tasks)

    async def _client(self, number: int, stop: float) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            index = 0
            while time.monotonic() < stop:
                index += 1
                for attempt in range(len(self.urls)):
                    url = self.urls[(number + index + attempt) % len(self.urls)]
                    if await self._ask(http, url, f"my card {number} {index} has not arrived"):
                        break

    async def _ask(self, http: httpx.AsyncClient, url: str, message: str) -> bool:
        try:
            reply = await http.post(f"{url}/v1/classify", json={"text": message})
        except httpx.TransportError:
            self.failed += 1
            return False
        if reply.status_code != 200:
            assert reply.status_code == 503, reply.text
            self.failed += 1
            return False
        self.served.add(reply.json()["request_id"])
        return True


def _records(engine: Engine) -> list[tuple[str, str, datetime, int | None]]:
    query = "SELECT request_id, replica_id, created_at, price_sheet_id FROM inference_record"
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]  # type: ignore[misc]


def _wait_stored(engine: Engine, served: set[str], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served <= {row[0] for row in _records(engine)}:
            return
        time.sleep(0.2)


def test_two_replicas_and_two_job_processes_on_one_postgresql(
    postgres_settings: DatabaseSettings, adapters_dir: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    sessions = session_factory(engine)
    replicas = {name: Replica(postgres_settings, adapters_dir, replica=name) for name in "ab"}
    # A budget the load crosses mid-run: its 80 % and 100 % alerts are raised and posted.
    set_budget(sessions, scope=make_scope("all"), limit=Money(BUDGET_PICO), now=utc_now())
    stop_jobs, posts = tmp_path / "stop-jobs", tmp_path / "posts.jsonl"
    jobs = _jobs(postgres_settings.url, stop_jobs, posts)
    for replica in replicas.values():
        replica.wait_ready()
    phases = {"ready": time.monotonic() - started}
    change: dict[str, object] = {}

    def change_price() -> None:  # from a third process's point of view: the replicas learn it late
        change["version"] = set_price(
            sessions,
            key="cpu_core_hour",
            value="0.9",
            now=utc_now(),
            changed_by="test",
            defaults=PriceSettings(),
        )

    def stop_b() -> None:
        replicas["b"].stop()
        change["b_stopped_at"] = utc_now()

    load = Load([replicas["a"].url, replicas["b"].url])
    asyncio.run(load.run(seconds=LOAD_S, clients=6, during={2.5: change_price, 5.0: stop_b}))
    phases["load"] = time.monotonic() - started
    _wait_stored(engine, load.served)
    replicas["a"].stop()
    stop_jobs.touch()
    assert [job.wait(60) for job in jobs] == [0, 0]
    phases["jobs"] = time.monotonic() - started

    records = _records(engine)
    per_request: dict[str, int] = {}
    for request_id, *_ in records:
        per_request[request_id] = per_request.get(request_id, 0) + 1
    missing = load.served - set(per_request)
    assert not missing, f"{len(missing)} successful responses have no record"
    assert all(per_request[r] == 1 for r in load.served), "a response has more than one record"
    by_replica = {name: [r for r in records if r[1] == name] for name in "ab"}
    assert {r[1] for r in records} == {"a", "b"} and all(by_replica.values())
    assert max(r[2] for r in by_replica["b"]) <= change["b_stopped_at"]  # type: ignore[operator]
    spools = sorted(p.name for p in postgres_settings.spool_path.parent.glob("spool.p-service-*"))
    assert spools == ["spool.p-service-a.jsonl.lock", "spool.p-service-b.jsonl.lock"]

    book = PriceBook(sessions, defaults=PriceSettings())
    new = change["version"]
    wrong = [r for r in records if book.sheet_at(r[2]).id != r[3]]
    assert not wrong, f"{len(wrong)} records carry another price version than the one valid then"
    assert any(r[3] == new.id for r in records)  # type: ignore[attr-defined]
    assert rollup_sums(engine) == raw_sums(engine)
    posted, raised, pending = _posts(posts, engine)
    assert raised == 2 and pending == 0, (raised, pending)
    assert len(posted) == len(set(posted)) == raised + 1, posted  # each alert, one summary
    engine.dispose()
    elapsed = time.monotonic() - started
    print(
        f"served {len(load.served)} ({load.failed} asked again), {len(records)} records, "
        f"{len(by_replica['b'])} from b; {elapsed:.1f} s"
    )
    assert elapsed < 90
