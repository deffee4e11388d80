"""Insert N InferenceRecords through the write path (RecordWriter) and report rows/s.

    python -m benchmarks.write_path --rows 1000000 --backend sqlite postgresql \
        --out benchmarks/results/write_path.jsonl

PostgreSQL: a throwaway local cluster is started unless --postgres-url is given.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from benchmarks.record import machine, write_line
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord, new_uid
from storage.types import utc_now
from storage.writer import RecordWriter

SERVICE_BATCH = 32


def make_row(index: int, now: Any) -> dict[str, Any]:
    """A realistic record, as the model service produces one."""
    return {
        "uid": new_uid(),
        "created_at": now,
        "request_id": new_uid(),
        "batch_id": f"b{index // 32}",
        "model_name": "all-MiniLM-L6-v2",
        "model_version": "bench",
        "adapter_versions": "intent@1,sentiment@1",
        "tasks": "intent,sentiment",
        "source_kind": "http",
        "command": "classify",
        "guild_id": None,
        "channel_id": index % 7,
        "user_hash": None,
        "input_chars": 42,
        "input_tokens": 11,
        "truncated": False,
        "predictions": {
            "intent": {"label": "card_arrival", "score": 0.97},
            "sentiment": {"label": "neutral", "score": 0.88},
        },
        "queue_ms": 1.2,
        "compute_ms": 8.5,
        "batch_size": 32,
        "device": "cpu",
        "energy_uj": 84_000 + index % 100,
        "energy_method": "cpu-time-estimate",
        "cost_compute_pico": 13_000,
        "cost_energy_pico": 4_900,
        "cost_hardware_pico": 0,
        "cost_data_pico": 0,
        "co2_ng": 11_000,
        "price_sheet_id": 1,
        "text": None,
    }


def run(settings: DatabaseSettings, rows: int) -> dict[str, float]:
    """Submit `rows` records, close the writer (flushes), verify the count, return timings."""
    engine = create_db_engine(settings)
    upgrade(engine)
    writer = RecordWriter(engine, settings).start()
    now = utc_now()
    started = time.perf_counter()
    for start in range(0, rows, SERVICE_BATCH):  # as the model service submits: per batch
        stop = min(start + SERVICE_BATCH, rows)
        writer.submit_many("inference_record", [make_row(i, now) for i in range(start, stop)])
    submitted = time.perf_counter()
    writer.close(timeout=3600)
    finished = time.perf_counter()
    with Session(engine) as session:
        stored = session.exec(select(func.count()).select_from(InferenceRecord)).one()[0]
    engine.dispose()
    if stored != rows or writer.stats.spooled:
        raise SystemExit(f"lost records: stored {stored} of {rows}, spooled {writer.stats.spooled}")
    return {
        "rows": rows,
        "submit_s": submitted - started,
        "total_s": finished - started,
        "rows_per_s": rows / (finished - started),
    }


def cpu_name() -> str:
    """The CPU model as the kernel names it."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def postgres_settings(args: argparse.Namespace, work: Path) -> tuple[DatabaseSettings, Any]:
    """Settings for the PostgreSQL run, starting a throwaway cluster when no URL is given."""
    if args.postgres_url:
        return DatabaseSettings(url=args.postgres_url, spool_path=work / "pg.spool"), None
    from tests.pg_cluster import PostgresCluster, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL not installed; pass --postgres-url")
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="costbot-bench-pg-")), bin_dir)
    cluster.init()
    cluster.start()
    return DatabaseSettings(url=cluster.admin_url, spool_path=work / "pg.spool"), cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--backend", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--postgres-url", default="")
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per backend")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="costbot-bench-"))
    print(f"hardware: {cpu_name()}, {len(__import__('os').sched_getaffinity(0))} cores")
    try:
        for backend in args.backend:
            cluster = None
            if backend == "sqlite":
                settings = DatabaseSettings(
                    url=f"sqlite:///{work / 'bench.db'}", spool_path=work / "s.spool"
                )
            else:
                settings, cluster = postgres_settings(args, work)
            before = machine()
            result = run(settings, args.rows)
            write_line(
                args.out,
                {
                    "bench": "write_path",
                    "backend": backend,
                    **result,
                    "postgres": f"throwaway cluster {cluster.bin_dir}" if cluster else "",
                    "machine": before,
                    "load_avg_after": machine()["load_avg"],
                },
            )
            print(
                f"{backend}: {result['rows']:,} rows in {result['total_s']:.1f}s "
                f"= {result['rows_per_s']:,.0f} rows/s (submit loop {result['submit_s']:.1f}s)"
            )
            if cluster is not None:
                cluster.stop("fast")
                shutil.rmtree(cluster.root, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
