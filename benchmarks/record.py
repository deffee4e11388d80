"""What every raw results line carries: when, on what machine, under what load; and writing it."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile")


def machine() -> dict[str, Any]:
    """CPU model, the speed-relevant flags it has, usable cores, Python, load average now."""
    model, flags = platform.processor() or "unknown", set[str]()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpu_flags": [flag for flag in SPEED_FLAGS if flag in flags],
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "load_avg": [round(value, 2) for value in os.getloadavg()],
    }


def write_line(out: Path | None, result: dict[str, Any]) -> None:
    """Print `result` as one JSON line, and append it to `out` when given."""
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **result})
    print(line, flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as handle:
            handle.write(line + "\n")


def write_lines(out: Path | None, lines: list[dict[str, Any]], started_on: dict[str, Any]) -> None:
    """`write_line` each result with the machine it started on and the load average after it."""
    for result in lines:
        write_line(out, {**result, "machine": started_on, "load_avg_after": machine()["load_avg"]})
