"""Proof with plain processes (the `compose.yaml` way) on one real PostgreSQL: two service
replicas (two `costbot serve` processes, replica ids `a` and `b`) and two scheduler processes
(job_child.py: the scheduler `costbot up` runs, under the leader lock; posts to a file).
Clients drive load through both replicas; the load crosses a budget; a price changes mid-run
(the replicas reload prices only every 60 s); replica `b` is stopped mid-run (SIGTERM) and its
clients go on with `a`. Then: every successful response has exactly one record, each record
names the replica that served it, each replica had its own spool, every record is priced by the
version valid at its created_at, the roll-ups equal the raw sums, and each alert and the
summary is posted once. The same on Ray Serve replicas, with the leading scheduler killed:
test_ray_replicas.py."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from costing.budgets import make_scope, set_budget
from costing.prices import PriceBook
from costing.settings import PriceSettings
from costing.units import Money
from storage.db import create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.sums import raw_sums, rollup_sums
from tests.multiprocess import proof
from tests.serve_process import ServeProcess

LOAD_S = 8.0
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


def test_two_replicas_and_two_scheduler_processes_on_one_postgresql(
    postgres_settings: DatabaseSettings, adapters_dir: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    sessions = session_factory(engine)
    replicas = {name: Replica(postgres_settings, adapters_dir, replica=name) for name in "ab"}
    # A budget the load crosses mid-run: its 80 % and 100 % alerts are raised and posted.
    set_budget(sessions, scope=make_scope("all"), limit=Money(proof.BUDGET_PICO), now=utc_now())
    schedulers = proof.Schedulers(postgres_settings, tmp_path)
    try:
        for replica in replicas.values():
            replica.wait_ready()
        phases = {"ready": time.monotonic() - started}
        change: dict[str, object] = {}

        def stop_b() -> None:
            replicas["b"].stop()
            change["b_stopped_at"] = utc_now()

        load = proof.Load([replicas["a"].url, replicas["b"].url])
        during = {2.5: proof.change_price(sessions, change), 5.0: stop_b}
        asyncio.run(load.run(seconds=LOAD_S, clients=6, during=during))
        phases["load"] = time.monotonic() - started
        proof.wait_stored(engine, load.served)
        replicas["a"].stop()
        proof.wait_scheduled_work(engine, sessions)
        phases["scheduled"] = time.monotonic() - started
    finally:
        for replica in replicas.values():
            replica.process.kill() if replica.process.poll() is None else None
        assert schedulers.stop() == [0, 0]

    rows = proof.records(engine)
    missing, twice = proof.once_each(rows, load.served)
    assert not missing, f"{len(missing)} successful responses have no record"
    assert not twice, f"{len(twice)} responses have more than one record"
    by_replica = {name: [r for r in rows if r[1] == name] for name in "ab"}
    assert {r[1] for r in rows} == {"a", "b"} and all(by_replica.values())
    assert max(r[2] for r in by_replica["b"]) <= change["b_stopped_at"]  # type: ignore[operator]
    spools = sorted(p.name for p in postgres_settings.spool_path.parent.glob("spool.p-service-*"))
    assert spools == ["spool.p-service-a.jsonl.lock", "spool.p-service-b.jsonl.lock"]

    book = PriceBook(sessions, defaults=PriceSettings())
    wrong = proof.wrongly_priced(rows, book)
    assert not wrong, f"{len(wrong)} records carry another price version than the one valid then"
    assert any(r[3] == change["version"].id for r in rows)  # type: ignore[attr-defined]
    assert rollup_sums(engine) == raw_sums(engine)
    posted, raised = proof.posts_once(schedulers, engine)
    assert raised == 2 and len(posted) == raised + 1, (raised, posted)  # each alert, one summary
    engine.dispose()
    elapsed = time.monotonic() - started
    print(
        f"served {len(load.served)} ({load.failed} asked again), {len(rows)} records, "
        f"{len(by_replica['b'])} from b; phases {phases}; {elapsed:.1f} s"
    )
    assert elapsed < 90
