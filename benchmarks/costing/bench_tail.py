"""Benchmark: report/ROI latency with a live tail of unfolded records, on an existing bench DB.

    python -m benchmarks.costing.bench_tail --db /tmp/costbench.db --tail 10000 \
        --out benchmarks/results/reports_tail.jsonl

Run after bench_reports (which leaves the records); folds everything first, then adds ``--tail``
records after the watermark and times the answers (which must read them raw).
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.costing.bench_reports import INSERT_RECORDS, NOW, SETTLE, _count, _fill, _reports
from benchmarks.record import machine, write_line
from costing.aggregation import aggregate
from storage.db import create_db_engine, session_factory
from storage.settings import DatabaseSettings


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/costbench.db"))
    parser.add_argument("--tail", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="append the JSON line here too")
    args = parser.parse_args()
    started_on = machine()
    engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{args.db}"))
    sessions = session_factory(engine)
    clock = NOW + timedelta(hours=1)  # later than every job run of bench_reports
    started = time.perf_counter()
    aggregate(sessions, now=clock)
    aggregate(sessions, now=clock + SETTLE)
    fold_s = time.perf_counter() - started
    history = _count(engine, "inference_record")
    _fill(
        engine,
        INSERT_RECORDS,
        first=history + 1,
        last=history + args.tail,
        created_span_s=3600,
        before=clock,
    )
    result = {"history": history, "tail": args.tail, "fold_s": round(fold_s, 1)}
    timings = _reports(sessions, clock + SETTLE, args.repeat)
    result.update({k: round(v, 1) for k, v in timings.items()})
    result.update({"repeat": args.repeat, "database": "sqlite file", "machine": started_on})
    write_line(
        args.out, {"bench": "costing_tail", **result, "load_avg_after": machine()["load_avg"]}
    )


if __name__ == "__main__":
    main()
