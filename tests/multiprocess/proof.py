"""What both replica proofs share: the load (clients asking the replicas, a failed request
asked again), the two scheduler processes (job_child.py) with their leader found and killed, a
mid-run price change, and the reads of records, posts and alerts the checks are made on."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from costing.prices import PriceBook, set_price
from costing.settings import PriceSettings
from storage.db import SessionFactory
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.sums import raw_sums, rollup_sums
from tests.serve_process import REPO

BUDGET_PICO = 2_000_000  # about 30 answers' cost on a CPU: crossed early in the run
Record = tuple[str, str, datetime, int | None]  # request_id, replica_id, created_at, price sheet
# The real scheduler, fast: folds every 5 s (the least allowed) of records 1 s settled, posts
# pending alerts every second, and a follower takes the lead within a second.
SCHEDULER_ENV = {
    "COSTBOT_AGGREGATION__INTERVAL_S": "5",
    "COSTBOT_AGGREGATION__SETTLE_S": "1",
    "COSTBOT_AGGREGATION__ALERT_INTERVAL_S": "1",
    "COSTBOT_AGGREGATION__LEADER_CHECK_S": "1",
}


class Load:
    """Clients that ask the replicas' URLs in turn; a refused or failed request is asked again
    on the next URL (what a load balancer does), so a stopped replica costs no answer."""

    def __init__(self, urls: list[str], *, pause_s: float = 0.0) -> None:
        """`pause_s`: each client's pause between answers (0: as fast as answered)."""
        self.urls, self.pause_s = urls, pause_s
        self.served: set[str] = set()
        self.failed = 0
        self.stop_at = 0.0

    async def run(
        self,
        *,
        seconds: float,
        clients: int,
        during: dict[float, Callable[[], None]],
        after_s: float = 0.0,
    ) -> None:
        """`clients` clients for `seconds`, and at least `after_s` after the last action;
        each action in `during` at its second (in a thread, one after the other)."""
        started = time.monotonic()
        self.stop_at = float("inf")  # until the actions are done
        tasks = [asyncio.create_task(self._client(n)) for n in range(clients)]
        for at_s, action in sorted(during.items()):
            await asyncio.sleep(max(0.0, started + at_s - time.monotonic()))
            await asyncio.to_thread(action)
        self.stop_at = max(started + seconds, time.monotonic() + after_s)
        await asyncio.gather(*tasks)

    async def _client(self, number: int) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            index = 0
            while time.monotonic() < self.stop_at:
                index += 1
                for attempt in range(len(self.urls)):
                    url = self.urls[(number + index + attempt) % len(self.urls)]
                    if await self._ask(http, url, f"my card {number} {index} has not arrived"):
                        break
                await asyncio.sleep(self.pause_s)

    async def _ask(self, http: httpx.AsyncClient, url: str, message: str) -> bool:
        try:
            reply = await http.post(f"{url}/v1/classify", json={"text": message})
        except httpx.TransportError:
            self.failed += 1
            return False
        if reply.status_code != 200:
            assert reply.status_code in (500, 503), reply.text
            self.failed += 1
            return False
        self.served.add(reply.json()["request_id"])
        return True


class Schedulers:
    """Two scheduler processes (job_child.py) on one database, posting to `posts`; each one's
    output goes to `job-<n>.log` in `folder`."""

    def __init__(self, database: DatabaseSettings, folder: Path) -> None:
        self.posts = folder / "posts.jsonl"
        summary_at = (utc_now() - timedelta(minutes=1)).strftime("%H:%M")  # posted at start
        env = {**os.environ, "COSTBOT_DATABASE__URL": database.url, **SCHEDULER_ENV}
        command = [sys.executable, "-m", "tests.multiprocess.job_child", str(self.posts)]
        self.logs = [folder / f"job-{n}.log" for n in range(2)]
        self.processes = []
        for log in self.logs:
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(
                        [*command, summary_at], cwd=REPO, env=env, stdout=out, stderr=out
                    )
                )
        self.killed_at: datetime | None = None

    def leader(self, timeout_s: float = 30) -> int:
        """The index of the process that leads (its log says so)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            leading = [n for n, log in enumerate(self.logs) if self._leads(log.read_text())]
            if len(leading) == 1:
                return leading[0]
            assert len(leading) < 2, "two processes lead"
            time.sleep(0.1)
        raise AssertionError(f"no leader: {[log.read_text()[-2000:] for log in self.logs]}")

    @staticmethod
    def _leads(log: str) -> bool:
        return log.rfind("scheduled work: leading") > log.rfind("scheduled work: not leading")

    def kill_leader(self) -> int:
        """SIGKILL the leader (no release: the server drops its lock with its session)."""
        leader = self.leader()
        self.processes[leader].kill()
        self.processes[leader].wait(10)
        self.killed_at = utc_now()
        return leader

    def stop(self) -> list[int]:
        """SIGTERM the live ones; the exit status of each (-9 for one killed)."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        return [process.wait(30) for process in self.processes]

    def posted(self) -> list[dict[str, object]]:
        """Every post, in order: {"pid", "channel", "title"}."""
        text_ = self.posts.read_text() if self.posts.exists() else ""
        return [json.loads(line) for line in text_.splitlines()]


def change_price(sessions: SessionFactory, into: dict[str, object]) -> Callable[[], None]:
    """An action setting a new CPU price (from a third process: the replicas learn it late)."""

    def change() -> None:
        into["version"] = set_price(
            sessions,
            key="cpu_core_hour",
            value="0.9",
            now=utc_now(),
            changed_by="test",
            defaults=PriceSettings(),
        )

    return change


def records(engine: Engine) -> list[Record]:
    """Every inference record: (request_id, replica_id, created_at, price_sheet_id)."""
    query = "SELECT request_id, replica_id, created_at, price_sheet_id FROM inference_record"
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]  # type: ignore[misc]


def wait_stored(engine: Engine, served: set[str], timeout_s: float = 30) -> None:
    """Until every served request has a record (or the time is up: the checks then say which)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served <= {row[0] for row in records(engine)}:
            return
        time.sleep(0.2)


def alerts(engine: Engine) -> tuple[int, int]:
    """Alerts raised; of them not yet marked posted."""
    with engine.connect() as connection:
        raised, pending = connection.execute(
            text("SELECT count(*), count(*) - count(posted_at) FROM alert")
        ).one()
    return int(raised), int(pending)


def wait_scheduled_work(engine: Engine, sessions: SessionFactory, timeout_s: float = 40) -> None:
    """Until the schedulers have folded every record (roll-ups equal raw sums), repriced each to
    the version valid at its created_at, and posted every raised alert."""
    book = PriceBook(sessions, defaults=PriceSettings())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = rollup_sums(engine) == raw_sums(engine) and alerts(engine)[1] == 0
        if done and not wrongly_priced(records(engine), book):
            return
        time.sleep(0.5)


def wrongly_priced(rows: list[Record], book: PriceBook) -> list[Record]:
    """Records whose price version is not the one valid at their created_at."""
    return [r for r in rows if book.sheet_at(r[2]).id != r[3]]


def once_each(rows: list[Record], served: set[str]) -> tuple[set[str], list[str]]:
    """Served requests with no record; requests with more than one."""
    counts: dict[str, int] = {}
    for request_id, *_ in rows:
        counts[request_id] = counts.get(request_id, 0) + 1
    return served - set(counts), [r for r, n in counts.items() if n > 1]


def posts_once(schedulers: Schedulers, engine: Engine) -> tuple[list[tuple[object, ...]], int]:
    """Each post as (channel, title), checked posted once, with the alerts raised; raises
    AssertionError on a post made twice."""
    posted = [(p["channel"], p["title"]) for p in schedulers.posted()]
    assert len(posted) == len(set(posted)), posted
    return posted, alerts(engine)[0]
