"""Prove the GPU path: CUDA build, serving on cuda, NVML's energy counter, energy per inference.

    python -m benchmarks.gpu [--seconds 20] [--concurrency 64] [--out benchmarks/results/gpu.jsonl]

Checks that torch is a CUDA build that sees a device, starts the model service on cuda (torch
engine), drives it at `--concurrency` with one keep-alive connection per worker, and reads the
GPU's cumulative energy counter (NVML) before and after: measured joules per inference and
req/s, beside what the service itself recorded (its /metrics energy total). On a machine
without a CUDA device it prints one line saying so and exits 3, measuring nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks.record import machine, write_line
from benchmarks.service.harness import (
    banking_texts,
    empty_config,
    free_port,
    metric_value,
    wait_ready,
)
from benchmarks.service.load import bodies_from_texts, run_load
from benchmarks.service.peers.servers import Spec, start
from models.paths import default_model_dir

NO_CUDA = 3


def cuda_status() -> tuple[bool, str]:
    """(usable, one line): the torch build and whether it sees a CUDA device."""
    import torch

    if torch.version.cuda is None:
        return False, f"no CUDA device: torch {torch.__version__} is a CPU build"
    if not torch.cuda.is_available():
        return (
            False,
            f"no CUDA device: torch {torch.__version__} (CUDA {torch.version.cuda}) sees none",
        )
    name = torch.cuda.get_device_name(0)
    return True, f"CUDA {torch.version.cuda}, torch {torch.__version__}, {name}"


def service_energy_uj(url: str) -> float:
    """The energy the service recorded so far (µJ), from its /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return metric_value(text, "costbot_energy_microjoules_total")


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Serve on cuda, load it, read NVML energy around the run."""
    from costing.meters.nvml import open_reader
    from storage.db import create_db_engine
    from storage.migrate import upgrade
    from storage.settings import DatabaseSettings

    db = folder / "gpu.db"
    upgrade(create_db_engine(DatabaseSettings(url=f"sqlite:///{db}")))
    env = {
        "COSTBOT_CONFIG": str(empty_config(folder)),
        "COSTBOT_DATA_DIR": str(folder),
        "COSTBOT_DATABASE__URL": f"sqlite:///{db}",
        "COSTBOT_SERVICE__ADAPTERS_DIR": str(args.model),
        "COSTBOT_SERVICE__DEVICE": "cuda",
        "COSTBOT_SERVICE__ENGINE": "torch",
    }
    spec = Spec("costbot-cuda", "costbot", [sys.executable, "-m", "benchmarks.service.serve"], env)
    reader, gpu = open_reader("cuda")
    bodies = bodies_from_texts(banking_texts(1500))
    with start(spec, port=free_port()) as (url, process):
        wait_ready(url, process)
        asyncio.run(run_load(url, bodies, concurrency=args.concurrency, seconds=2.0))  # warm up
        before_mj, before_uj = reader.energy_mj(), service_energy_uj(url)
        result = asyncio.run(
            run_load(url, bodies, concurrency=args.concurrency, seconds=args.seconds)
        )
        after_mj, after_uj = reader.energy_mj(), service_energy_uj(url)
        engine = httpx.get(f"{url}/v1/models", timeout=10).json()
    reader.close()
    ok = max(1, result.ok)
    return {
        "gpu": gpu,
        "engine": [engine.get("engine"), engine.get("precision"), engine.get("device")],
        **result.summary(),
        "nvml_j_per_inference": round((after_mj - before_mj) / 1000 / ok, 6),
        "recorded_j_per_inference": round((after_uj - before_uj) / 1e6 / ok, 6),
    }


def main() -> None:
    """Check the CUDA build; if a device is there, measure and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    usable, line = cuda_status()
    print(line)
    if not usable:
        sys.exit(NO_CUDA)
    with tempfile.TemporaryDirectory(prefix="costbot-gpu-") as folder:
        result = measure(args, Path(folder))
    write_line(args.out, {"bench": "gpu", "cuda": line, **result, "machine": machine()})


if __name__ == "__main__":
    main()
