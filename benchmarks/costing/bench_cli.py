"""Benchmark: `costbot cost` and `costbot roi` through the CLI on 1,000,000 records, end to end.

    python -m benchmarks.costing.bench_cli [--records 1000000] [--repeat 5] \
        --out benchmarks/results/cli.jsonl

Fills a SQLite file with records spread over the last 90 days (and one outcome per ten records),
folds them as the scheduled job does (two runs, the settle time apart), then times each command
as a user runs it: a fresh process (interpreter start, imports, settings, query, rendering) until
it exits. Commands are interleaved; medians of ``--repeat`` runs. `--help` is timed the same way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.costing.bench_reports import (
    INSERT_OUTCOMES,
    INSERT_RECORDS,
    SETTLE,
    SPAN_DAYS,
    _fill,
)
from benchmarks.record import machine, write_line
from costing.aggregation import aggregate
from storage.db import create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings

COMMANDS = {"help": ["--help"], "cost_month": ["cost", "month"], "roi_month": ["roi", "month"]}


def fill(db: Path, records: int) -> float:
    """A migrated SQLite file with `records` records before now, folded; seconds taken."""
    engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{db}"))
    upgrade(engine)
    now, span = datetime.now(UTC), SPAN_DAYS * 86_400
    started = time.perf_counter()
    _fill(engine, INSERT_RECORDS, first=1, last=records, created_span_s=span, before=now)
    _fill(engine, INSERT_OUTCOMES, first=1, last=records // 10, created_span_s=span, before=now)
    sessions = session_factory(engine)
    aggregate(sessions, now=now)  # the job's first run sees the horizon,
    aggregate(sessions, now=now + SETTLE)  # the next one, after the settle time, folds it
    engine.dispose()
    return time.perf_counter() - started


def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds for one `costbot ARGS` run in a fresh process (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "costbot", *args], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def main() -> None:
    """Fill, fold, then time every command, interleaved."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "costbot.db"
        fill_s = fill(db, args.records)
        env = {**os.environ, "COSTBOT_DATA_DIR": folder, "COLUMNS": "120"}
        env["COSTBOT_DATABASE__URL"] = f"sqlite:///{db}"
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(args.repeat):
            for name, command in COMMANDS.items():
                times[name].append(timed(command, env))
    result = {f"{name}_s": round(statistics.median(v), 3) for name, v in times.items()}
    write_line(
        args.out,
        {
            "bench": "cli_reports",
            "records": args.records,
            "fill_and_fold_s": round(fill_s, 1),
            **result,
            "runs_s": {name: [round(t, 3) for t in v] for name, v in times.items()},
            "repeat": args.repeat,
            "machine": machine(),
        },
    )


if __name__ == "__main__":
    main()
