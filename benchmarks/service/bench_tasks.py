"""Intent alone vs intent + sentiment, side by side on one running service.

Usage: python -m benchmarks.service.bench_tasks --out benchmarks/results/tasks.jsonl
           [--model DIR] [--concurrency 8 --concurrency 64] [--seconds 6] [--repeats 3]

One service process (the shipped model unless --model), costs recorded as in production. For each
concurrency, the two request kinds alternate (intent, both, intent, both, …) for --repeats runs of
--seconds each after a 1 s warm-up; the figure is the ratio of their median throughputs.
Messages: BANKING77 customer messages, one text per request, as the bot sends them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.service.bench_batching import _env
from benchmarks.service.harness import banking_texts, cpu_model, median_of, server
from benchmarks.service.load import run_load
from models.paths import default_model_dir

KINDS = {"intent": ["intent"], "intent+sentiment": ["intent", "sentiment"]}


def bodies(texts: list[str], tasks: list[str]) -> list[bytes]:
    """One single-text request body per text, asking for `tasks`."""
    return [
        json.dumps({"text": t, "tasks": tasks, "source": {"command": "bench"}}).encode()
        for t in texts
    ]


def measure(url: str, concurrency: int, args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved repeats of both kinds at one concurrency; medians and their ratio."""
    texts = banking_texts(1500)
    payloads = {kind: bodies(texts, tasks) for kind, tasks in KINDS.items()}
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for _ in range(args.repeats):
        for kind, body in payloads.items():
            asyncio.run(run_load(url, body, concurrency=concurrency, seconds=1.0))
            result = asyncio.run(run_load(url, body, concurrency=concurrency, seconds=args.seconds))
            runs[kind].append(result.summary())
    medians = {kind: median_of(r, "throughput_rps") for kind, r in runs.items()}
    return {
        "concurrency": concurrency,
        "throughput_rps": medians,
        "p50_ms": {kind: median_of(r, "p50_ms") for kind, r in runs.items()},
        "ratio_both_vs_intent": round(medians["intent+sentiment"] / medians["intent"], 3),
        "runs": runs,
    }


def main() -> None:
    """Run every concurrency level and append one JSON line each to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    policy = {"COSTBOT_SERVICE__MAX_BATCH_SIZE": "32", "COSTBOT_SERVICE__MAX_WAIT_MS": "5"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        server(_env(args.model, Path(tmp), policy)) as (url, _),
    ):
        for level in args.concurrency or [8, 64]:
            line = {"bench": "tasks", "cpu": cpu_model(), "python": platform.python_version()}
            line.update(measure(url, level, args))
            with args.out.open("a") as handle:
                handle.write(json.dumps(line) + "\n")
            print(
                f"c={level}: intent {line['throughput_rps']['intent']} req/s, both "
                f"{line['throughput_rps']['intent+sentiment']} req/s, ratio "
                f"{line['ratio_both_vs_intent']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
