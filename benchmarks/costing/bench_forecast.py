"""Benchmark: how often the forecast's interval holds the real total, and how long it takes.

A synthetic daily cost with a known weekly pattern and noise (8 weeks of history, seeded); for
each of `--futures` seeded 4-week futures of the same process, whether its total lies inside
each method's 90 % interval; and the seconds to choose a method (backtest) and project.

python -m benchmarks.costing.bench_forecast --futures 200 --out benchmarks/results/forecast.jsonl
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.record import machine, write_line
from costing import forecast_models as fm

PATTERN = np.array([10, 12, 11, 13, 15, 4, 3], dtype=float)  # Mon..Sun
NOISE_SD = 0.6
HORIZON = 28


def _weeks(weeks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.tile(PATTERN, weeks) + rng.normal(0, NOISE_SD, 7 * weeks), 0, None)


def run(*, futures: int) -> dict[str, object]:
    """Coverage of each method's 90 % interval, its MAPE, and the time to choose and project."""
    history = _weeks(8, seed=1)
    totals = [_weeks(4, seed=100 + i).sum() for i in range(futures)]
    result: dict[str, object] = {}
    for method in fm.METHODS:
        low, high = fm.interval(method.paths(history, HORIZON, fm.SIMULATIONS), coverage_pct=90)
        inside = sum(low <= total <= high for total in totals)
        result[method.key] = {
            "coverage_90": round(inside / futures, 3),
            "backtest_mape": round(fm.backtest_mape(history, method) or 0, 2),
        }
    started = time.perf_counter()
    chosen, _ = fm.choose_method(history)
    chosen.paths(history, HORIZON, fm.SIMULATIONS)
    result["chosen"] = chosen.key
    result["choose_and_project_s"] = round(time.perf_counter() - started, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--futures", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(futures=args.futures)
    write_line(
        args.out,
        {"bench": "forecast", "futures": args.futures, **result, "machine": machine()},
    )


if __name__ == "__main__":
    main()
