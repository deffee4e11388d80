"""Benchmark: report/ROI latency after aggregation, and job time for 10k new records vs history.

    python -m benchmarks.costing.bench_reports --db /tmp/costbench.db --history 1000000 10000000 \
        --out benchmarks/results/reports.jsonl

Records are generated inside SQLite with a recursive CTE (no Python per row). For each history
size: fill up to it, run the job until everything is folded, add ``--new`` records, time the job
run that folds them, then time cost and ROI reports (median of ``--repeat``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.record import machine, write_line
from costing.aggregation import aggregate
from costing.cost_report import cost_report
from costing.prices import PriceBook
from costing.roi_report import roi_report
from costing.settings import PriceSettings, RoiSettings
from storage.db import create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
SPAN_DAYS = 90
SETTLE = timedelta(minutes=5)

INSERT_RECORDS = """
WITH RECURSIVE c(x) AS (SELECT :first UNION ALL SELECT x + 1 FROM c WHERE x < :last)
INSERT INTO inference_record (
  uid, created_at, ingested_at, request_id, batch_id, model_name, model_version,
  adapter_versions, tasks, source_kind, command, channel_id, input_chars, input_tokens,
  truncated, predictions, queue_ms, compute_ms, batch_size, device, energy_uj, energy_method,
  cost_compute_pico, cost_energy_pico, cost_hardware_pico, cost_data_pico, co2_ng)
SELECT printf('%032x', x),
  strftime('%Y-%m-%d %H:%M:%S', :start + (x * 7919) % :span, 'unixepoch') || '.000000',
  :ingested, printf('%032x', x), printf('%032x', x / 16), 'all-MiniLM-L6-v2',
  CASE x % 2 WHEN 0 THEN 'v1' ELSE 'v2' END, 'intent@v1,sentiment@v1', 'intent,sentiment',
  CASE x % 3 WHEN 0 THEN 'http' ELSE 'discord' END, CASE x % 3 WHEN 0 THEN '' ELSE 'ask' END,
  CASE x % 5 WHEN 0 THEN NULL ELSE 1000 + x % 5 END, 40 + x % 200, 10 + x % 60, 0, '{}',
  (x % 17) * 0.3, 5 + (x % 29), 16, 'cpu', 100000 + x % 5000,
  CASE x % 4 WHEN 0 THEN 'rapl' ELSE 'cpu-time-estimate' END,
  12000 + x % 900, 5000 + x % 300, 0, 0, 12000 + x % 700
FROM c
"""

INSERT_OUTCOMES = """
WITH RECURSIVE c(x) AS (SELECT :first UNION ALL SELECT x + 1 FROM c WHERE x < :last)
INSERT INTO support_outcome (uid, created_at, request_id, source_kind, intent, sentiment, outcome,
  reason)
SELECT printf('o%031x', x),
  strftime('%Y-%m-%d %H:%M:%S', :start + (x * 7919) % :span, 'unixepoch') || '.000000',
  '', 'discord', '', '', CASE WHEN x % 10 < 7 THEN 'resolved' ELSE 'escalated' END, ''
FROM c
"""


def _fill(
    engine: Engine, sql: str, *, first: int, last: int, created_span_s: int, before: datetime = NOW
) -> float:
    started = time.perf_counter()
    start = int(before.timestamp()) - created_span_s
    ingested = NOW.strftime("%Y-%m-%d %H:%M:%S.000000")
    step = 1_000_000
    for low in range(first, last + 1, step):
        params = {
            "first": low,
            "last": min(low + step - 1, last),
            "start": start,
            "span": created_span_s,
            "ingested": ingested,
        }
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    return time.perf_counter() - started


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar())


def _fold_all(sessions: Any, clock: datetime) -> tuple[datetime, float, int]:
    """Run the job until nothing is left; return the clock, the folding run's time, records."""
    aggregate(sessions, now=clock)  # sees the horizon
    clock += SETTLE
    started = time.perf_counter()
    result = aggregate(sessions, now=clock)  # folds it
    return clock, time.perf_counter() - started, result.folded


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm caches, as a running bot would be
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _reports(sessions: Any, clock: datetime, repeat: int) -> dict[str, float]:
    book = PriceBook(sessions, defaults=PriceSettings())
    roi = RoiSettings()

    def report(period: str, group_by: str | None) -> Callable[[], object]:
        return lambda: cost_report(
            sessions, period=period, group_by=group_by, now=clock, prices=book
        )

    return {
        "report_month_total_ms": _median_ms(report("month", None), repeat),
        "report_month_by_day_ms": _median_ms(report("month", "day"), repeat),
        "report_month_by_model_ms": _median_ms(report("month", "model"), repeat),
        "report_week_by_channel_ms": _median_ms(report("week", "channel"), repeat),
        "report_today_by_command_ms": _median_ms(report("today", "command"), repeat),
        "roi_month_ms": _median_ms(
            lambda: roi_report(sessions, period="month", now=clock, prices=book, roi_settings=roi),
            repeat,
        ),
    }


def run(
    *,
    db: Path,
    history: list[int],
    new: int,
    outcomes_per_record: float,
    repeat: int,
    out: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the benchmark; one result per history size."""
    db.unlink(missing_ok=True)
    engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{db}"))
    upgrade(engine)
    sessions = session_factory(engine)
    span = SPAN_DAYS * 86_400
    clock, results = NOW, []
    for size in history:
        started_on = machine()
        have = _count(engine, "inference_record")
        fill_s = _fill(engine, INSERT_RECORDS, first=have + 1, last=size, created_span_s=span)
        outcomes_have = _count(engine, "support_outcome")
        _fill(
            engine,
            INSERT_OUTCOMES,
            first=outcomes_have + 1,
            last=int(size * outcomes_per_record),
            created_span_s=span,
        )
        clock, full_s, full_n = _fold_all(sessions, clock)
        _fill(engine, INSERT_RECORDS, first=size + 1, last=size + new, created_span_s=3600)
        clock, recent_s, recent_n = _fold_all(sessions, clock)
        _fill(
            engine, INSERT_RECORDS, first=size + new + 1, last=size + 2 * new, created_span_s=span
        )
        clock, late_s, late_n = _fold_all(sessions, clock)
        result = {
            "history": size,
            "fill_s": round(fill_s, 1),
            "full_fold_s": round(full_s, 1),
            "full_fold_records": full_n,
            "new_records": [recent_n, late_n],
            "job_new_recent_ms": round(recent_s * 1000, 1),
            "job_new_scattered_late_ms": round(late_s * 1000, 1),
        }
        result.update({k: round(v, 1) for k, v in _reports(sessions, clock, repeat).items()})
        with engine.begin() as connection:  # so the next size starts from the intended count
            connection.execute(text("DELETE FROM inference_record WHERE id > :n"), {"n": size})
            connection.execute(text("DELETE FROM cost_rollup"))
            connection.execute(text("UPDATE job_state SET watermark = 0"))
        extra = {"new": new, "repeat": repeat, "database": "sqlite file"}
        write_line(
            out,
            {
                "bench": "costing_reports",
                **result,
                **extra,
                "machine": started_on,
                "load_avg_after": machine()["load_avg"],
            },
        )
        results.append(result)
    return results


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/costbench.db"))
    parser.add_argument("--history", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--outcomes-per-record", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per size")
    args = parser.parse_args()
    run(
        db=args.db,
        history=args.history,
        new=args.new,
        outcomes_per_record=args.outcomes_per_record,
        repeat=args.repeat,
        out=args.out,
    )


if __name__ == "__main__":
    main()
