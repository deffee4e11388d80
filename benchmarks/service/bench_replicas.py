"""One process against N Ray Serve replicas on PostgreSQL: throughput, latency, the batch sizes
each replica formed, and records == successful responses (Ray Serve must not lose or double
the per-request cost records, nor defeat the micro-batching).

Usage: python -m benchmarks.service.bench_replicas --out results.jsonl
           [--adapters DIR] [--seconds 20] [--concurrency 32] [--replicas 2]
Needs the `scale` extra (ray[serve]) for the replica run. Each run gets a fresh database, is
loaded closed-loop for --seconds, then stopped with SIGTERM; records are counted after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.record import machine
from benchmarks.service.harness import (
    REPO,
    banking_texts,
    empty_config,
    free_port,
    throwaway_postgres,
    wait_ready,
)
from benchmarks.service.load import bodies_from_texts, run_load
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.pg_cluster import PostgresCluster


def _database(cluster: PostgresCluster, name: str, root: Path) -> DatabaseSettings:
    admin = create_db_engine(DatabaseSettings(url=cluster.admin_url))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    settings = DatabaseSettings(url=cluster.url_for(name), spool_path=root / f"{name}.jsonl")
    engine = create_db_engine(settings)
    upgrade(engine)
    engine.dispose()
    return settings


def _start(
    database: DatabaseSettings, *, args: argparse.Namespace, replicas: int, root: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    env = {
        "COSTBOT_DATABASE__URL": database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(database.spool_path),
        "COSTBOT_SERVICE__DEVICE": "cpu",
        "COSTBOT_CONFIG": str(empty_config(root)),
        "RAY_USAGE_STATS_ENABLED": "0",
        **({"COSTBOT_SERVICE__ADAPTERS_DIR": str(args.adapters)} if args.adapters else {}),
    }
    port = free_port()
    command = [sys.executable, "-m", "costbot", "serve", "--port", str(port)]
    command += ["--replicas", str(replicas)] if replicas else []
    log = (root / f"serve-{replicas}.log").open("wb")
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=log)
    return f"http://127.0.0.1:{port}", process


def _stored(database: DatabaseSettings) -> dict[str, Any]:
    engine = create_db_engine(database)
    query = "SELECT replica_id, count(*), avg(batch_size) FROM inference_record GROUP BY 1"
    with engine.connect() as connection:
        rows = connection.execute(text(query)).all()
    engine.dispose()
    return {str(r[0]): {"records": int(r[1]), "mean_batch": round(float(r[2]), 2)} for r in rows}


def one_run(
    cluster: PostgresCluster, *, args: argparse.Namespace, replicas: int, root: Path
) -> dict[str, Any]:
    """Start, warm until ready, load, SIGTERM, count."""
    database = _database(cluster, f"bench_r{replicas}", root)
    started = time.monotonic()
    url, process = _start(database, args=args, replicas=replicas, root=root)
    wait_ready(url, process, timeout=300)
    ready_s = time.monotonic() - started
    bodies = bodies_from_texts(banking_texts())
    warm = asyncio.run(run_load(url, bodies, concurrency=4, seconds=5.0))  # replicas loaded
    result = asyncio.run(run_load(url, bodies, concurrency=args.concurrency, seconds=args.seconds))
    process.send_signal(signal.SIGTERM)
    process.wait(180)
    per_replica = _stored(database)
    return {
        "bench": "replicas",
        "replicas": replicas or "single process",
        "ready_s": round(ready_s, 1),
        **result.summary(),
        "ok_with_warm_up": result.ok + warm.ok,
        "records": sum(r["records"] for r in per_replica.values()),
        "per_replica": per_replica,
        "machine": machine(),
    }


def main() -> None:
    """Both runs, one JSON line each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--adapters", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    with throwaway_postgres() as (cluster, root), args.out.open("a") as out:
        for replicas in (0, args.replicas):
            row = one_run(cluster, args=args, replicas=replicas, root=root)
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(row, flush=True)


if __name__ == "__main__":
    main()
