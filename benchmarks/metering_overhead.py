"""How much one metering window costs: empty windows, and a tiny real workload with vs without.

Run: .venv/bin/python -m benchmarks.metering_overhead [--windows 10000] [--device cpu|cuda]
         [--out benchmarks/results/metering_overhead.jsonl]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.record import machine, write_line
from costing.metering import CostMeter, build_meter, describe_meters
from costing.meters.rapl import RaplMeter, find_domains


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware() -> list[str]:
    """Lines describing the machine the figures come from."""
    lines = [
        f"cpu: {cpu_model()}, {os.cpu_count()} logical cores, "
        f"{len(os.sched_getaffinity(0))} usable, load average {os.getloadavg()[0]:.2f}",
        f"python {platform.python_version()}, torch {torch.__version__}",
    ]
    if torch.cuda.is_available():
        lines.append(f"gpu: {torch.cuda.get_device_name(0)}")
    return lines


def percentiles(samples_ns: list[int]) -> str:
    """Median, p99 and max in µs."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"median {statistics.median(ordered) / 1e3:7.1f} µs   p99 {p99 / 1e3:7.1f} µs   "
        f"max {ordered[-1] / 1e3:8.1f} µs"
    )


def empty_windows(meter: CostMeter, count: int) -> list[int]:
    """Nanoseconds of start() + stop() with nothing in between."""
    samples = []
    for _ in range(count):
        began = time.perf_counter_ns()
        meter.stop(meter.start())
        samples.append(time.perf_counter_ns() - began)
    return samples


def context_windows(meter: CostMeter, count: int) -> list[int]:
    """Nanoseconds of an empty ``with meter.window()`` block (includes GPU stats, if any)."""
    samples = []
    for _ in range(count):
        began = time.perf_counter_ns()
        with meter.window():
            pass
        samples.append(time.perf_counter_ns() - began)
    return samples


def tiny_workload(device: str) -> Callable[[], None]:
    """A classifier head's forward pass on a batch of 16 MiniLM-sized (384) embeddings."""
    model = torch.nn.Sequential(
        torch.nn.Linear(384, 384), torch.nn.GELU(), torch.nn.Linear(384, 8)
    ).to(device)
    batch = torch.randn(16, 384, device=device)

    def run() -> None:
        with torch.inference_mode():
            model(batch).softmax(-1)

    return run


def with_and_without(meter: CostMeter, work: Callable[[], None], calls: int) -> tuple[float, float]:
    """Median µs per call of `work` alone and inside a window, interleaved to share the noise."""
    sync = torch.cuda.synchronize if meter.device.startswith("cuda") else (lambda: None)
    bare, metered = [], []
    for _ in range(calls):
        began = time.perf_counter_ns()
        work()
        sync()
        bare.append(time.perf_counter_ns() - began)
        began = time.perf_counter_ns()
        with meter.window():
            work()
        metered.append(time.perf_counter_ns() - began)
    return statistics.median(bare) / 1e3, statistics.median(metered) / 1e3


def fake_rapl_meter(root: Path) -> CostMeter:
    """A RAPL meter over a two-package powercap tree on tmpfs (sysfs reads cost about as much)."""
    for index in range(2):
        zone = root / f"intel-rapl:{index}"
        zone.mkdir()
        (zone / "name").write_text(f"package-{index}\n")
        (zone / "max_energy_range_uj").write_text("262143328850\n")
        (zone / "energy_uj").write_text("123456789\n")
    return CostMeter(device="cpu", backends=[RaplMeter(find_domains(root))])


def summary_us(samples_ns: list[int]) -> dict[str, float]:
    """Median, p99 and max in µs, for the results file."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "median_us": round(statistics.median(ordered) / 1e3, 2),
        "p99_us": round(p99 / 1e3, 2),
        "max_us": round(ordered[-1] / 1e3, 2),
    }


def report(
    name: str, meter: CostMeter, *, windows: int, calls: int, device: str
) -> dict[str, object]:
    """Print one meter's figures and return them."""
    work = tiny_workload(device)
    for _ in range(200):
        work()
    empty_windows(meter, 500)
    backends = [type(b).__name__ for b in meter.backends]
    print(f"\n[{name}] backends: {backends}")
    start_stop = empty_windows(meter, windows)
    print(f"  start+stop, empty ({windows}):  {percentiles(start_stop)}")
    context = context_windows(meter, windows)
    print(f"  with window(), empty ({windows}): {percentiles(context)}")
    bare, metered = with_and_without(meter, work, calls)
    print(
        f"  tiny workload ({calls} calls): bare {bare:.1f} µs, metered {metered:.1f} µs, "
        f"overhead {metered - bare:+.1f} µs per batch"
    )
    return {
        "meter": name,
        "backends": backends,
        "windows": windows,
        "calls": calls,
        "start_stop": summary_us(start_stop),
        "with_window": summary_us(context),
        "workload_bare_median_us": round(bare, 2),
        "workload_metered_median_us": round(metered, 2),
    }


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per meter")
    args = parser.parse_args()
    before = machine()
    torch.set_num_threads(1)
    print("\n".join(hardware()))
    for status in describe_meters(device=args.device):
        print(f"  {status.name:18} {'yes' if status.available else 'no ':3}  {status.reason}")
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else None
    meter = build_meter(device=args.device, cpu_watts_per_core=10, gpu_watts=350, sync=sync)
    results = [
        report(
            f"this machine, device {args.device}",
            meter,
            windows=args.windows,
            calls=args.calls,
            device=args.device,
        )
    ]
    meter.close()
    with tempfile.TemporaryDirectory() as root:
        rapl = fake_rapl_meter(Path(root))
        name = "rapl reader on a fake 2-package tree (tmpfs)"
        results.append(report(name, rapl, windows=args.windows, calls=args.calls, device="cpu"))
        rapl.close()
    extra = {"torch": torch.__version__, "machine": before, "load_avg_after": machine()["load_avg"]}
    for result in results:
        write_line(args.out, {"bench": "metering_overhead", **result, **extra})


if __name__ == "__main__":
    main()
