"""One leader for scheduled work: two schedulers on one real PostgreSQL, only one leads; when
the leader's connection dies the other takes over; each alert is posted once across two
processes. SQLite: one process, which always leads."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from costbot.leading import LeaderScheduler
from costbot.scheduler import AGGREGATION_JOB, build_scheduler
from costing.settings import CostingSettings
from storage.db import create_db_engine, session_factory
from storage.leader import Leadership
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.conftest import insert_rows
from tests.costing.sums import raw_sums, rollup_sums
from tests.factories import inference_row

ROOT = Path(__file__).resolve().parents[2]
ALERT_PROCESS = "tests.costbot.alert_process"


def _second_engine(engine: Engine) -> Engine:
    """Another process's view of the same database: its own pool, its own sessions."""
    return create_db_engine(DatabaseSettings(url=engine.url.render_as_string(False)))


def _kill_leader_session(engine: Engine) -> int:
    """Terminate the session holding the leader lock (as a crash or a cut network would)."""
    with engine.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = "
                "'advisory' AND granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar_one()
        connection.commit()
    return int(killed)


def test_one_of_two_leads_and_the_other_takes_over_when_its_connection_dies(
    pg_engine: Engine,
) -> None:
    other = _second_engine(pg_engine)
    first, second = Leadership(pg_engine), Leadership(other)
    try:
        assert (first.refresh(), second.refresh()) == (True, False)
        assert (first.refresh(), second.refresh()) == (True, False)  # still, on every check
        assert _kill_leader_session(pg_engine) == 1
        assert second.refresh() and not first.refresh()
        second.release()
        assert first.refresh() and not second.refresh()
    finally:
        first.release()
        second.release()
        other.dispose()


def test_a_follower_scheduler_skips_its_jobs_until_it_leads(pg_engine: Engine) -> None:
    other = _second_engine(pg_engine)
    leader, follower = Leadership(pg_engine), Leadership(other)
    clock = [utc_now()]
    schedulers = [
        build_scheduler(
            session_factory=session_factory(engine),
            costing=CostingSettings(),
            leadership=lead,
            clock=lambda: clock[0],
        )
        for engine, lead in ((pg_engine, leader), (other, follower))
    ]
    aggregate = [s.get_job(AGGREGATION_JOB).func for s in schedulers]

    def runs(which: int) -> None:  # twice, the settle time apart: a record is folded
        for _ in range(2):
            clock[0] += timedelta(minutes=10)
            aggregate[which]()

    try:
        assert leader.refresh()
        insert_rows(pg_engine, [inference_row(created_at=clock[0] - timedelta(hours=3))])
        runs(1)  # the follower's job returns without folding
        assert rollup_sums(pg_engine) != raw_sums(pg_engine)
        runs(0)
        assert rollup_sums(pg_engine) == raw_sums(pg_engine)
        insert_rows(pg_engine, [inference_row(created_at=clock[0] - timedelta(hours=2))])
        _kill_leader_session(pg_engine)
        runs(1)  # the leader is gone: the follower takes over and folds
        assert follower.leading and rollup_sums(pg_engine) == raw_sums(pg_engine)
    finally:
        leader.release()
        follower.release()
        other.dispose()


async def test_two_running_schedulers_run_each_tick_once_and_hand_over(pg_engine: Engine) -> None:
    other = _second_engine(pg_engine)
    ticks: dict[str, list[float]] = {"a": [], "b": []}
    schedulers: dict[str, LeaderScheduler] = {}
    for name, engine in (("a", pg_engine), ("b", other)):
        scheduler = LeaderScheduler(leadership=Leadership(engine))
        scheduler.add_job(lambda n=name: ticks[n].append(time.monotonic()), "interval", seconds=0.1)
        scheduler.start()
        schedulers[name] = scheduler

    async def leaders_after(moment: float) -> list[str]:
        await asyncio.sleep(1.5)
        return [n for n, t in ticks.items() if any(x > moment + 0.5 for x in t)]

    try:
        assert len(await leaders_after(time.monotonic())) == 1, ticks
        await asyncio.to_thread(_kill_leader_session, pg_engine)  # a cut connection: one leads on
        [old] = await leaders_after(time.monotonic())
        schedulers[old].shutdown(wait=False)  # the leader's process dies, and its session with it
        await asyncio.to_thread(_kill_leader_session, pg_engine)
        assert await leaders_after(time.monotonic()) == ["b" if old == "a" else "a"]
    finally:
        for scheduler in schedulers.values():
            if scheduler.running:
                scheduler.shutdown(wait=False)
            scheduler.leadership.release()  # type: ignore[union-attr]
        other.dispose()


def test_sqlite_has_one_process_which_always_leads(tmp_path: Path) -> None:
    engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'one.db'}"))
    assert Leadership(engine).refresh() and Leadership(engine).refresh()
    engine.dispose()


def test_each_alert_is_posted_once_across_two_processes(pg_engine: Engine, tmp_path: Path) -> None:
    url = pg_engine.url.render_as_string(False)
    posts = tmp_path / "posts.jsonl"
    subprocess.run(
        [sys.executable, "-m", ALERT_PROCESS, url, str(posts), "setup", "0"], check=True, cwd=ROOT
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", ALERT_PROCESS, url, str(posts), "post", "2"], cwd=ROOT
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=60) for p in processes] == [0, 0]
    lines = [json.loads(line) for line in posts.read_text().splitlines()]
    keys = sorted((line["title"], line["channel"]) for line in lines)
    assert len(keys) == 2 * 3  # two thresholds, three channels
    assert len(set(keys)) == len(keys), keys
