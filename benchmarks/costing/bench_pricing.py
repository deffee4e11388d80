"""Benchmark: pricing one batch Measurement and splitting it over its items (per-batch overhead).

python -m benchmarks.costing.bench_pricing --batch 32 --repeat 20000 \
    --out benchmarks/results/pricing.jsonl
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.record import machine, write_line
from costing.cost_model import price_measurement, split_cost, split_record_columns
from costing.measurement import EnergyMethod, EnergyReading, Measurement
from costing.prices import Prices
from costing.settings import PriceSettings
from costing.units import Energy


def run(*, batch: int, repeat: int) -> dict[str, float]:
    """Microseconds per batch to price, and to price + split over ``batch`` items."""
    prices = Prices.from_settings(PriceSettings())
    readings = (
        EnergyReading("gpu", Energy.from_joules(1.234), EnergyMethod.NVML_COUNTER),
        EnergyReading("cpu", Energy.from_joules(0.456), EnergyMethod.RAPL),
    )
    measurement = Measurement(wall_s=0.0123, cpu_s=0.0201, gpu_s=0.011, readings=readings)
    weights = [7 + i % 23 for i in range(batch)]
    started = time.perf_counter()
    for _ in range(repeat):
        price_measurement(measurement, prices)
    priced = time.perf_counter()
    for _ in range(repeat):
        split_cost(price_measurement(measurement, prices), weights)
    done = time.perf_counter()
    for _ in range(repeat):
        split_record_columns(price_measurement(measurement, prices), weights)
    columns = time.perf_counter()
    return {
        "batch": batch,
        "price_us": round((priced - started) / repeat * 1e6, 1),
        "price_and_split_us": round((done - priced) / repeat * 1e6, 1),
        "price_and_split_columns_us": round((columns - done) / repeat * 1e6, 1),
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None, help="append the JSON line here too")
    args = parser.parse_args()
    before = machine()
    result = run(batch=args.batch, repeat=args.repeat)
    extra = {"repeat": args.repeat, "machine": before, "load_avg_after": machine()["load_avg"]}
    write_line(args.out, {"bench": "costing_pricing", **result, **extra})


if __name__ == "__main__":
    main()
