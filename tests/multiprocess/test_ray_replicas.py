"""The proof of scaling out on the engine, with real processes on one real PostgreSQL:
`costbot serve --replicas 2` (two Ray Serve replicas behind one port) and two scheduler
processes (job_child.py: the scheduler `costbot up` runs, under the leader lock; posts go to a
file). Six clients ask the one port, each pausing 50 ms between answers; the load crosses a
budget. 0.5 s in, the leading scheduler process is killed (SIGKILL) and the other takes over;
1.5 s in, a price changes (the replicas reload prices only every 60 s); 2.5 s in,
`costbot serve --replicas 1` against the same Ray scales the deployment down in place: Ray
Serve drains the removed replica, whose writer flushes, and the clients go on with the other
for 3 s more. Then: every successful response has exactly one record; both replica ids served,
the removed one only before the scale-down finished; each replica had its own spool; every
record carries the price version valid at its created_at; the roll-ups equal the raw sums (the
records after the kill folded by the survivor); each alert and the summary was posted exactly
once, after the kill only by the survivor."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from costing.budgets import make_scope, set_budget
from costing.prices import PriceBook
from costing.settings import PriceSettings
from costing.units import Money
from storage.db import create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.sums import raw_sums, rollup_sums
from tests.loopback import free_socket
from tests.multiprocess import proof
from tests.serve_process import REPO

LOAD_S = 8.0
AFTER_S = 3.0  # load on the one replica left, after the scale-down
PAUSE_S = 0.05  # each client's pause between answers: CPU left for the rescaling command
pytestmark = [pytest.mark.multiprocess, pytest.mark.postgres, pytest.mark.slow]
# A lean local Ray for a small machine: no metrics agent, no idle workers started ahead.
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_enable_metrics_collection": "0",
    "RAY_prestart_worker_first_driver": "0",
}


@pytest.fixture(autouse=True)
def _ray_installed() -> None:
    """scripts/setup-env installs Ray Serve (the `scale` extra): CI must have it, a venv built
    another way may skip."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI"):
            pytest.fail("Ray Serve is not installed, but CI must run the Ray proof")
        pytest.skip("Ray Serve not installed (pip install 'costbot[scale]')")


class RayService:
    """`costbot serve --replicas 2` in a child process (its own session) on a free port."""

    def __init__(self, database: DatabaseSettings, adapters_dir: Path) -> None:
        with free_socket() as sock:
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **RAY_ENV,
            "COSTBOT_DATABASE__URL": database.url,
            "COSTBOT_DATABASE__SPOOL_PATH": str(database.spool_path),
            "COSTBOT_DATABASE__FLUSH_INTERVAL_S": "0.05",
            "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters_dir),
            "COSTBOT_SERVICE__DEVICE": "cpu",
            "COSTBOT_SERVICE__PRICE_REFRESH_S": "60",
        }
        self.log = database.spool_path.with_name("ray-serve.log")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self._command(2),
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _command(self, replicas: int) -> list[str]:
        serve = ["serve", "--replicas", str(replicas), "--port", str(self.port)]
        return [sys.executable, "-m", "costbot", *serve]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_both_ready(self, timeout_s: float = 150) -> None:
        """Until the application is ready, with both replicas started (Ray routes to either)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            if "Application 'costbot' is ready" in self.output():
                return
            time.sleep(0.2)
        raise AssertionError(f"not ready: {self.output()[-4000:]}")

    def rescale(self, replicas: int) -> None:
        """`costbot serve --replicas N` against the running Ray (service.ray_address): returns
        once N replicas run and none is still stopping."""
        found = re.search(r"Ray at (\S+) \(", self.output())
        assert found, self.output()[-3000:]
        env = {**self.env, "COSTBOT_SERVICE__RAY_ADDRESS": found[1]}
        done = subprocess.run(
            self._command(replicas), cwd=REPO, env=env, capture_output=True, timeout=150
        )
        output = (done.stdout + done.stderr).decode(errors="replace")
        assert done.returncode == 0, output[-3000:]
        assert f"rescaled to {replicas} Ray Serve replicas" in output, output[-3000:]

    def stop(self) -> None:
        """SIGTERM: the replicas drain, their writers flush, exit 0."""
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(90)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
        assert status == 0, self.output()[-4000:]


def test_two_ray_serve_replicas_and_two_schedulers_on_one_postgresql(
    postgres_settings: DatabaseSettings, adapters_dir: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    sessions = session_factory(engine)
    # A budget the load crosses: its 80 % and 100 % alerts are raised and posted.
    set_budget(sessions, scope=make_scope("all"), limit=Money(proof.BUDGET_PICO), now=utc_now())
    service = RayService(postgres_settings, adapters_dir)
    schedulers = proof.Schedulers(postgres_settings, tmp_path)
    try:
        service.wait_both_ready()
        phases: dict[str, float] = {"ready": time.monotonic() - started}
        first_leader = schedulers.leader()
        change: dict[str, object] = {}

        def scale_down() -> None:
            begun = time.monotonic()
            service.rescale(1)
            change["scaled_at"] = utc_now()
            phases["rescale command"] = time.monotonic() - begun

        load = proof.Load([service.url], pause_s=PAUSE_S)
        during = {
            0.5: schedulers.kill_leader,
            1.5: proof.change_price(sessions, change),
            2.5: scale_down,
        }
        asyncio.run(load.run(seconds=LOAD_S, clients=6, during=during, after_s=AFTER_S))
        phases["load"] = time.monotonic() - started
        proof.wait_stored(engine, load.served)
        proof.wait_scheduled_work(engine, sessions)
        phases["scheduled"] = time.monotonic() - started
    finally:
        service.stop()
        statuses = schedulers.stop()
    rows = proof.records(engine)
    missing, twice = proof.once_each(rows, load.served)
    assert not missing, f"{len(missing)} successful responses have no record"
    assert not twice, f"{len(twice)} responses have more than one record"
    _check_scale_down(rows, scaled_at=change["scaled_at"])  # type: ignore[arg-type]
    spools = sorted(p.name for p in postgres_settings.spool_path.parent.glob("spool.p-service-*"))
    assert spools == ["spool.p-service-ray-0.jsonl.lock", "spool.p-service-ray-1.jsonl.lock"]

    book = PriceBook(sessions, defaults=PriceSettings())
    wrong = proof.wrongly_priced(rows, book)
    assert not wrong, f"{len(wrong)} records carry another price version than the one valid then"
    assert any(r[3] == change["version"].id for r in rows)  # type: ignore[attr-defined]
    assert rollup_sums(engine) == raw_sums(engine)
    survivor = 1 - first_leader
    assert statuses[first_leader] == -signal.SIGKILL and statuses[survivor] == 0, statuses
    _check_posts(schedulers, engine, survivor=survivor)
    engine.dispose()
    elapsed = time.monotonic() - started
    split = {name: sum(r[1] == name for r in rows) for name in ("ray-0", "ray-1")}
    print(
        f"served {len(load.served)} through one port ({load.failed} asked again), "
        f"{len(rows)} records {split}; phases (s) { {k: round(v, 1) for k, v in phases.items()} }; "
        f"{elapsed:.1f} s"
    )


def _check_scale_down(rows: list[proof.Record], *, scaled_at: datetime) -> None:
    """Both replicas served; one of them (the removed) only before the scale-down finished."""
    by_replica: dict[str, list[datetime]] = {}
    for _, replica, created_at, _ in rows:
        by_replica.setdefault(replica, []).append(created_at)
    assert set(by_replica) == {"ray-0", "ray-1"}, by_replica.keys()
    after = {name for name, times in by_replica.items() if max(times) > scaled_at}
    assert len(after) == 1, f"replicas serving after the scale-down: {after}"


def _check_posts(schedulers: proof.Schedulers, engine: Engine, *, survivor: int) -> None:
    """Both alerts and the summary, each once; after the kill, only the survivor posted."""
    posted, raised = proof.posts_once(schedulers, engine)
    assert raised == 2 and len(posted) == raised + 1, (raised, posted)
    killed_at = schedulers.killed_at
    assert killed_at is not None
    posts = schedulers.posted()
    late = {p["pid"] for p in posts if datetime.fromisoformat(str(p["at"])) > killed_at}
    assert late <= {schedulers.processes[survivor].pid}, late
