"""(a) batching vs one-request-one-forward, (b) cost logging on vs off, (sweep) batch policy.

Usage: python -m benchmarks.service.bench_batching --adapters DIR --out results.jsonl
           [--part batching|bf16|costs|sweep ...] [--seconds 6] [--repeats 3]
Each figure is the median over --repeats closed-loop runs of --seconds after a 1 s warm-up;
client and server share the machine (loopback), one text per request, both tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks.record import machine
from benchmarks.service.harness import (
    banking_texts,
    cpu_model,
    empty_config,
    median_of,
    metric_value,
    server,
)
from benchmarks.service.load import bodies_from_texts, run_load

NAIVE = {"COSTBOT_SERVICE__MAX_BATCH_SIZE": "1", "COSTBOT_SERVICE__MAX_WAIT_MS": "0"}
BATCHING = {"COSTBOT_SERVICE__MAX_BATCH_SIZE": "32", "COSTBOT_SERVICE__MAX_WAIT_MS": "5"}


def _env(adapters: Path, db_dir: Path, policy: dict[str, str]) -> dict[str, str]:
    return {
        "COSTBOT_SERVICE__ADAPTERS_DIR": str(adapters),
        "COSTBOT_SERVICE__DEVICE": "cpu",
        "COSTBOT_DATABASE__URL": f"sqlite:///{db_dir / 'bench.db'}",
        "COSTBOT_DATABASE__SPOOL_PATH": str(db_dir / "spool.jsonl"),
        "COSTBOT_CONFIG": str(empty_config(db_dir)),
        **policy,
    }


def _measure(
    url: str, bodies: list[bytes], *, concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    runs = []
    for _ in range(args.repeats):
        asyncio.run(run_load(url, bodies, concurrency=concurrency, seconds=1.0))
        runs.append(
            asyncio.run(
                run_load(url, bodies, concurrency=concurrency, seconds=args.seconds)
            ).summary()
        )
    keys = ("throughput_rps", "p50_ms", "p99_ms")
    return {"concurrency": concurrency, **{k: median_of(runs, k) for k in keys}, "runs": runs}


_SCRAPED = (
    "costbot_batch_size_sum",
    "costbot_batch_size_count",
    "costbot_metering_overhead_seconds_sum",
    "costbot_batch_compute_seconds_sum",
)


def _scrape(url: str) -> dict[str, float]:
    """The batch counters of /metrics (cumulative since the server started)."""
    text = httpx.get(f"{url}/metrics").text
    return {name: metric_value(text, name) for name in _SCRAPED}


def _batch_figures(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Mean batch size and per-batch times over one concurrency level (its warm-ups included)."""
    delta = {name: after[name] - before[name] for name in _SCRAPED}
    count = delta["costbot_batch_size_count"] or 1
    return {
        "batches": int(delta["costbot_batch_size_count"]),
        "mean_batch_size": round(delta["costbot_batch_size_sum"] / count, 2),
        "metering_overhead_us_per_batch": round(
            1e6 * delta["costbot_metering_overhead_seconds_sum"] / count, 1
        ),
        "compute_ms_per_batch": round(1e3 * delta["costbot_batch_compute_seconds_sum"] / count, 2),
    }


def _config(
    name: str,
    policy: dict[str, str],
    *,
    levels: tuple[int, ...],
    extra: tuple[str, ...] = (),
    args: argparse.Namespace,
    bodies: list[bytes],
) -> list[dict[str, Any]]:
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(_env(args.adapters, Path(tmp), policy), args=extra) as (url, _),
    ):
        for level in levels:
            load_before = os.getloadavg()[0]
            counters = _scrape(url)
            row = {
                "config": name,
                "policy": policy,
                "args": list(extra),
                **_measure(url, bodies, concurrency=level, args=args),
            }
            row.update(_batch_figures(counters, _scrape(url)))
            row["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            rows.append(row)
    return rows


def main() -> None:
    """Run the chosen parts and append one JSON line per configuration × concurrency."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapters", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--part", action="append", choices=["batching", "bf16", "costs", "sweep"])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bodies = bodies_from_texts(banking_texts())
    parts = args.part or ["batching", "costs"]
    plan: list[tuple[str, dict[str, str], tuple[int, ...], tuple[str, ...]]] = []
    if "batching" in parts:
        plan += [("batching", BATCHING, (1, 8, 64), ()), ("naive", NAIVE, (1, 8, 64), ())]
    if "bf16" in parts:
        bf16 = ("--precision", "bf16")
        plan += [
            ("batching-bf16", BATCHING, (1, 8, 64), bf16),
            ("naive-bf16", NAIVE, (1, 8, 64), bf16),
        ]
    if "costs" in parts:
        plan += [
            ("costs-on", BATCHING, (64,), ()),
            ("costs-off", BATCHING, (64,), ("--no-costs",)),
            ("costs-on", BATCHING, (64,), ()),
            ("costs-off", BATCHING, (64,), ("--no-costs",)),
        ]
    if "sweep" in parts:
        for size in ("8", "16", "64"):
            plan.append(
                (
                    f"size{size}-wait5",
                    {**BATCHING, "COSTBOT_SERVICE__MAX_BATCH_SIZE": size},
                    (64,),
                    (),
                )
            )
        for wait in ("0", "2", "20"):
            plan.append(
                (f"size32-wait{wait}", {**BATCHING, "COSTBOT_SERVICE__MAX_WAIT_MS": wait}, (8,), ())
            )
        plan.append(("size32-bucket32", BATCHING, (64,), ("--bucket-size", "32")))
        plan.append(("size32-bucket8", BATCHING, (64,), ("--bucket-size", "8")))
    with args.out.open("a") as out:
        for name, policy, levels, extra in plan:
            for row in _config(name, policy, levels=levels, extra=extra, args=args, bodies=bodies):
                row["cpu"] = cpu_model()
                row["machine"] = machine()
                row["model_dir"] = str(args.adapters)
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(
                    name,
                    {
                        k: row[k]
                        for k in (
                            "concurrency",
                            "throughput_rps",
                            "p50_ms",
                            "p99_ms",
                            "mean_batch_size",
                        )
                    },
                    flush=True,
                )


if __name__ == "__main__":
    main()
