"""(d) Load runs on PostgreSQL: records == successful responses, with and without an outage.

Usage: python -m benchmarks.service.bench_load --adapters DIR --out results.jsonl
           [--requests 20000] [--concurrency 64] [--outage-s 10]
Run 1: --requests at --concurrency, then SIGTERM; count records. Run 2: the same with the
database stopped (pg_ctl stop -m fast) for --outage-s seconds a third of the way in; the writer
spools and replays; records are counted after shutdown, and again after a fresh writer's
start-up replay if anything was still spooled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, text
from sqlmodel import Session, select

from benchmarks.record import machine
from benchmarks.service.harness import (
    banking_texts,
    cpu_model,
    empty_config,
    server,
    throwaway_postgres,
)
from benchmarks.service.load import bodies_from_texts, run_load
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.spool import family_spools
from storage.tables import InferenceRecord
from storage.writer import RecordWriter
from tests.pg_cluster import PostgresCluster


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(InferenceRecord)).one())


def _database(cluster: PostgresCluster, root: Path) -> DatabaseSettings:
    admin = create_db_engine(DatabaseSettings(url=cluster.admin_url))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text('CREATE DATABASE "bench"'))
    admin.dispose()
    return DatabaseSettings(
        url=cluster.url_for("bench"),
        spool_path=root / "spool.jsonl",
        retry_attempts=1,
        retry_base_s=0.1,
        replay_interval_s=1.0,
    )


def _env(adapters: Path, database: DatabaseSettings, root: Path) -> dict[str, str]:
    return {
        "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters),
        "COSTBOT_SERVICE__DEVICE": "cpu",
        "COSTBOT_SERVICE__MAX_BATCH_SIZE": "32",
        "COSTBOT_SERVICE__MAX_WAIT_MS": "5",
        "COSTBOT_DATABASE__URL": database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(database.spool_path),
        "COSTBOT_DATABASE__RETRY_ATTEMPTS": "1",
        "COSTBOT_DATABASE__RETRY_BASE_S": "0.1",
        "COSTBOT_DATABASE__REPLAY_INTERVAL_S": "1.0",
        "COSTBOT_CONFIG": str(empty_config(root)),
    }


def _outage(
    cluster: PostgresCluster, *, after_s: float, seconds: float, log: dict[str, float]
) -> threading.Thread:
    def run() -> None:
        time.sleep(after_s)
        log["stopped_at_s"] = after_s
        cluster.stop("fast")
        time.sleep(seconds)
        cluster.start()
        log["restarted_after_s"] = seconds

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _writer_stats(log_path: Path) -> str:
    found = re.findall(r"record writer closed: (WriterStats\([^)]*\))", log_path.read_text())
    return found[-1] if found else ""


def one_run(
    name: str,
    *,
    args: argparse.Namespace,
    cluster: PostgresCluster,
    root: Path,
    database: DatabaseSettings,
    engine: Engine,
) -> dict[str, Any]:
    """One load run against a fresh server; outage when the name says so."""
    started_on = machine()
    before = _count(engine)
    bodies = bodies_from_texts(banking_texts())
    log_path = root / f"{name}.log"
    outage: dict[str, float] = {}
    with server(_env(args.adapters, database, root), log=log_path) as (url, _):
        thread = None
        if name == "outage":
            expected_s = args.requests / args.expected_rps
            thread = _outage(cluster, after_s=expected_s / 3, seconds=args.outage_s, log=outage)
        result = asyncio.run(
            run_load(url, bodies, concurrency=args.concurrency, requests=args.requests)
        )
        if thread is not None:
            thread.join()
        time.sleep(3)  # let the writer's replay (every 1 s) catch up before SIGTERM
    after_shutdown = _count(engine) - before
    spool_left = any(  # each process spools to its own file beside spool_path
        path.is_file() and path.stat().st_size > 0 for path in family_spools(database.spool_path)
    )
    replayed_at_start = 0
    if spool_left:
        writer = RecordWriter(engine, database).start()
        writer.close()
        replayed_at_start = writer.stats.replayed
    return {
        "run": name,
        **result.summary(),
        "records_after_shutdown": after_shutdown,
        "records_after_restart_replay": _count(engine) - before,
        "replayed_at_next_start": replayed_at_start,
        "spool_left_at_shutdown": spool_left,
        "writer_stats": _writer_stats(log_path),
        "outage": outage,
        "cpu": cpu_model(),
        "machine": started_on,
        "load_avg_after": machine()["load_avg"],
        "model_dir": str(args.adapters),
    }


def main() -> None:
    """Start a throwaway PostgreSQL, run both load runs, append one JSON line each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapters", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--expected-rps", type=float, default=200.0, help="to place the outage")
    parser.add_argument("--runs", default="steady,outage")
    args = parser.parse_args()
    with throwaway_postgres() as (cluster, root):
        database = _database(cluster, root)
        engine = create_db_engine(database)
        upgrade(engine)
        with args.out.open("a") as out:
            for name in args.runs.split(","):
                row = one_run(
                    name, args=args, cluster=cluster, root=root, database=database, engine=engine
                )
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(row, flush=True)
        engine.dispose()


if __name__ == "__main__":
    main()
