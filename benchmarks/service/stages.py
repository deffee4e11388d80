"""Where a lone request's time goes: costbot and the ONNX Runtime peer, stage by stage.

    python -m benchmarks.service.stages [--seconds 4] [--repeats 6] [--out results.jsonl]

At concurrency 1 every request runs alone, so the marks its server took (see
benchmarks.service.stage_probe) follow one another in one order, from `request` (the ASGI app
called) to `response` (it returned, the answer sent). Three servers, started as the side-by-side
benchmark starts them, are loaded in turn at concurrency 1 (the order reversed every other
round): costbot, costbot with recording off (`--no-costs`) and the ONNX Runtime peer with its
threads spinning, the quickest peer at one text. Then each server's marks are read back and
every step between two consecutive marks is reduced to its median in ms over the requests that
took every mark (the first `--skip` requests, warm-up, left out).

One JSON line per server: the client's p50 per round, the steps in order, `total_ms`
(request to response), `forward_ms` (the ONNX Runtime run) and `outside_forward_ms` (the rest:
what the server does around the forward, which is where costbot and the peer differ).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from benchmarks.record import machine, write_lines
from benchmarks.service.harness import banking_texts, empty_config, free_port, wait_ready
from benchmarks.service.load import bodies_from_texts, run_load
from benchmarks.service.peers.servers import Spec, specs, start
from benchmarks.service.stage_probe import PROBE_PATH, Marks
from models.paths import default_model_dir

SERVERS = ("costbot", "costbot-no-recording", "onnxruntime-batching-spinning")


def requests_of(marks: Marks) -> Iterator[dict[str, float]]:
    """Each request's marks as {stage: time}, from one `request` mark to the next (only the
    first time a stage is reached counts)."""
    current: dict[str, float] | None = None
    for stage, at in marks:
        if stage == "request":
            if current is not None:
                yield current
            current = {}
        if current is not None:
            current.setdefault(stage, at)
    if current is not None:
        yield current


def timeline(marks: Marks, *, skip: int = 0) -> dict[str, Any]:
    """The median ms of each step between consecutive marks, over the complete requests
    (those that reached every stage any request reached), after the first `skip`; ValueError
    when no request is complete."""
    requests = list(requests_of(marks))[skip:]
    stages = set().union(*requests) if requests else set()
    complete = [r for r in requests if set(r) == stages and "response" in r]
    if not complete:
        raise ValueError("no request reached every stage: was the server loaded at c=1?")
    order = sorted(
        stages, key=lambda stage: statistics.median(r[stage] - r["request"] for r in complete)
    )
    steps = [
        {"from": a, "to": b, "ms": _median_ms(complete, a, b)} for a, b in itertools.pairwise(order)
    ]
    total = _median_ms(complete, "request", "response")
    forward = _median_ms(complete, "forward0", "forward1") if "forward0" in stages else 0.0
    return {
        "requests": len(complete),
        "steps": steps,
        "total_ms": total,
        "forward_ms": forward,
        "outside_forward_ms": round(total - forward, 3),
    }


def _median_ms(requests: Sequence[dict[str, float]], first: str, then: str) -> float:
    return round(1000 * statistics.median(r[then] - r[first] for r in requests), 3)


def probed(spec: Spec) -> Spec:
    """The same server, started under the stage probe."""
    kind = "peer" if spec.kind == "ort" else "costbot"
    module = [sys.executable, "-m", "benchmarks.service.stage_probe", kind]
    return dataclasses.replace(spec, argv=[*module, *spec.argv[3:]])


def measure(args: argparse.Namespace, chosen: list[Spec]) -> list[dict[str, Any]]:
    """Load each server at c=1 round after round; its timeline and client p50s."""
    bodies = bodies_from_texts(banking_texts(args.texts))
    p50s: dict[str, list[float]] = {spec.name: [] for spec in chosen}
    with ExitStack() as stack:
        urls = {}
        for spec in chosen:
            url, process = stack.enter_context(start(probed(spec), port=free_port()))
            wait_ready(url, process, path=spec.ready_path)
            urls[spec.name] = url
        for round_ in range(args.repeats):
            for spec in chosen if round_ % 2 == 0 else chosen[::-1]:
                run = asyncio.run(
                    run_load(urls[spec.name], bodies, concurrency=1, seconds=args.seconds)
                )
                p50s[spec.name].append(float(run.summary()["p50_ms"]))
        marks = {name: httpx.get(url + PROBE_PATH, timeout=60).json() for name, url in urls.items()}
    return [
        {
            "bench": "stages_c1",
            "server": name,
            "client_p50_ms_by_round": p50s[name],
            "client_p50_ms": statistics.median(p50s[name]),
            **timeline([(stage, at) for stage, at in marks[name]], skip=args.skip),
        }
        for name in p50s
    ]


def main() -> None:
    """Run the servers, print each one's steps and append the lines to `--out`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--skip", type=int, default=50, help="warm-up requests left out")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="costbot-stages-") as tmp:
        folder = Path(tmp)
        every = {s.name: s for s in specs(args.model, folder, config=empty_config(folder))}
        chosen = [every[name] for name in args.servers.split(",") if name]
        started_on = machine()
        lines = measure(args, chosen)
    write_lines(args.out, lines, started_on)
    for line in lines:
        head = f"{line['requests']} requests, client p50 {line['client_p50_ms']} ms"
        print(f"\n{line['server']}: {head}")
        for step in line["steps"]:
            print(f"  {step['from']:>10} -> {step['to']:<10} {step['ms']:7.3f} ms")
        print(
            f"  total {line['total_ms']} ms, forward {line['forward_ms']} ms, "
            f"outside the forward {line['outside_forward_ms']} ms"
        )


if __name__ == "__main__":
    main()
