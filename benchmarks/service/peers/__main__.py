"""Side by side: costbot and its peers serving the same weights, at concurrency 1, 8 and 64.

    python -m benchmarks.service.peers [--seconds 5] [--repeats 3] [--servers a,b] \
        [--out benchmarks/results/peers.jsonl]

Every server answers POST /v1/classify {"text": ...} with the same merged intent/sentiment
weights (costbot's shipped model; the ONNX servers load one export of it). All servers are
started first, then runs are interleaved: for each repetition, each concurrency, each server
(the order rotated by one each repetition), every run starting once all servers are idle.
Per run: successful req/s, p50/p99 latency, the server's CPU ms per request (its process's
utime+stime from /proc) and the load generator's own CPU ms per request. The load generator
(benchmarks/service/load.py) keeps one keep-alive connection per worker, in this process.
One JSON line per server and concurrency (medians over repetitions, every run kept), then the
batch sizes each batching server actually ran and how often the top intent agreed with the
ONNX Runtime peer's, and one `peers_targets` line per concurrency: costbot against the best
peer (the ONNX Runtime peer runs with its threads sleeping and spinning; either may be best),
each target judged on the medians and repetition by repetition (`met` only where every paired
repetition meets it, `not met` where none does, else `not resolved`: beside.verdict).

infinity-emb pins transformers 4.x; it runs from its own venv that reuses this one's CPU torch
(so no CUDA build is pulled), and `--infinity` names that venv's bin folder:

    python -m venv /tmp/infinity-venv
    echo "$PWD/.venv/lib/python3.11/site-packages" \
        > /tmp/infinity-venv/lib/python3.11/site-packages/zz_costbot.pth
    /tmp/infinity-venv/bin/pip install "infinity-emb[server,optimum]==0.0.78"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from safetensors.numpy import load_file

from benchmarks.record import machine, write_lines
from benchmarks.service.harness import (
    banking_texts,
    empty_config,
    free_port,
    metric_value,
    wait_ready,
)
from benchmarks.service.load import bodies_from_texts, run_load
from benchmarks.service.peers.beside import (
    forward_limit,
    recording_overhead,
    sizes_seen,
    target_lines,
)
from benchmarks.service.peers.common import labels
from benchmarks.service.peers.servers import Spec, specs, start
from models.paths import default_model_dir

CONCURRENCY = (1, 8, 64)
JSON = {"content-type": "application/json"}
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def rotated(specs_: list[Spec], repeat: int) -> list[Spec]:
    """The servers in the order of repetition `repeat`: each starts a round once in turn, so no
    server always runs first after the previous round's heaviest load."""
    shift = repeat % len(specs_)
    return specs_[shift:] + specs_[:shift]


def settle(pids: list[int], *, idle_cpu_s: float = 0.05, window_s: float = 0.5) -> None:
    """Wait (at most 30 s) until every server together used under `idle_cpu_s` of CPU in a
    `window_s` window: a server still working off the last run's queue (infinity-emb keeps
    computing requests the client gave up on) would slow whichever server runs next."""
    deadline = time.monotonic() + 30
    before = sum(cpu_s(pid) for pid in pids)
    while time.monotonic() < deadline:
        time.sleep(window_s)
        now = sum(cpu_s(pid) for pid in pids)
        if now - before < idle_cpu_s:
            return
        before = now


def client_cpu_s() -> float:
    """This process's (the load generator's) CPU seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Snapshot:
    """What a server has done so far: its CPU, this client's CPU, the batches it ran and (for
    costbot) the CPU its own counters say went to metering, pricing and recording."""

    server_cpu_s: float
    client_cpu_s: float
    batches: Counter[str]
    recording_cpu_s: float


def snapshot(url: str, kind: str, pid: int) -> Snapshot:
    """The server's figures now: for costbot, once its record writer has nothing queued (at
    most 10 s), so records deferred past a run are counted in that run."""
    text = ""
    if kind == "costbot":
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(f"{url}/metrics", timeout=10).text
            if metric_value(text, "costbot_writer_queued_rows") == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    recording = metric_value(text, "costbot_costing_cpu_seconds_total") + metric_value(
        text, "costbot_writer_cpu_seconds_total"
    )
    return Snapshot(cpu_s(pid), client_cpu_s(), batch_sizes(url, kind, text), recording)


def batch_sizes(url: str, kind: str, metrics: str) -> Counter[str]:
    """Batches run so far by size: costbot's histogram buckets (from its `metrics` text), or
    the ORT peer's own counts."""
    if kind == "costbot":
        found = re.findall(r'costbot_batch_size_bucket\{le="([^"]+)"\} (\S+)', metrics)
        cumulative = sorted(((float(le), int(float(n))) for le, n in found))
        below, low, sizes = 0, 0.0, Counter[str]()
        for le, count in cumulative:  # cumulative buckets into per-range counts
            label = f"{int(low) + 1}-{le:g}" if le - low > 1 else f"{le:g}"
            sizes[label.replace("inf", "+")] = count - below
            below, low = count, le
        return sizes
    if kind == "ort":
        return Counter(httpx.get(f"{url}/stats", timeout=10).json()["batch_sizes"])
    return Counter()


def one_run(spec: Spec, url: str, pid: int, texts: list[str], *, c: int, seconds: float):
    """One load run against a server: its summary with CPU per request, batches run and, for
    costbot, the share of its CPU its own counters put on metering, pricing and recording."""
    bodies = request_bodies(spec, texts)
    before = snapshot(url, spec.kind, pid)
    result = asyncio.run(run_load(url, bodies, concurrency=c, seconds=seconds, path=spec.path))
    after = snapshot(url, spec.kind, pid)
    summary: dict[str, Any] = result.summary()
    ok = max(1, result.ok)
    server_s = after.server_cpu_s - before.server_cpu_s
    summary["server_cpu_ms_per_req"] = round(server_s * 1000 / ok, 2)
    summary["client_cpu_ms_per_req"] = round(
        (after.client_cpu_s - before.client_cpu_s) * 1000 / ok, 3
    )
    summary["batches"] = dict(after.batches - before.batches)
    if spec.kind == "costbot":
        recording_s = after.recording_cpu_s - before.recording_cpu_s
        summary["recording_cpu_ms_per_req"] = round(recording_s * 1000 / ok, 3)
        summary["recording_cpu_share"] = round(recording_s / server_s, 4) if server_s else None
    return summary


def request_bodies(spec: Spec, texts: list[str]) -> list[bytes]:
    """One single-text body per text, in the server's own request shape."""
    if spec.kind == "infinity":
        return [json.dumps({"input": [t], "model": "support"}).encode() for t in texts]
    return bodies_from_texts(texts)


def agreement(live: dict[str, tuple[Spec, str]], texts: list[str], model: Path) -> dict[str, float]:
    """Share of texts whose top intent equals the ONNX Runtime peer's, per server."""
    tops: dict[str, list[str]] = {}
    for name, (spec, url) in live.items():
        with httpx.Client(timeout=60) as client:
            answers = [
                client.post(f"{url}{spec.path}", content=body, headers=JSON).json()
                for body in request_bodies(spec, texts)
            ]
        tops[name] = [_top(answer, model) for answer in answers]
    reference = tops.get("onnxruntime-batching", next(iter(tops.values())))
    return {
        name: round(sum(a == b for a, b in zip(found, reference, strict=True)) / len(texts), 4)
        for name, found in tops.items()
    }


def _top(body: dict[str, Any], model: Path) -> str:
    if "data" in body:  # an embedding server: the intent head on the normalised embedding
        return _intent_of(np.asarray(body["data"][0]["embedding"], dtype=np.float32), model)
    intent = body["results"][0]["predictions"]["intent"]
    return str(intent["top"][0]["label"] if "top" in intent else intent["label"])


def _intent_of(embedding: np.ndarray, model: Path) -> str:
    heads = load_file(str(model / "heads.safetensors"))
    logits = heads["intent.linear.weight"] @ (embedding / np.linalg.norm(embedding))
    return labels(model)["intent"][int((logits + heads["intent.linear.bias"]).argmax())]


def medians(name: str, c: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over repetitions, with every run kept."""
    keys = ("throughput_rps", "p50_ms", "p99_ms", "server_cpu_ms_per_req", "client_cpu_ms_per_req")
    batches: Counter[str] = Counter()
    for run in runs:
        batches.update(run["batches"])
    return {
        "bench": "peers",
        "server": name,
        "concurrency": c,
        **{k: round(statistics.median(run[k] for run in runs), 3) for k in keys},
        "non_200": sum(run["non_200"] + run["errors"] for run in runs),
        "batches": dict(sorted(batches.items(), key=lambda kv: _size_key(kv[0]))),
        "runs": runs,
    }


def _size_key(label: str) -> float:
    return float(label.split("-")[0])


def measure(
    args: argparse.Namespace, chosen: list[Spec]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Start every server, interleave the runs; one line per server and concurrency, and the
    recording-overhead lines (when costbot ran with and without recording)."""
    texts = banking_texts(args.texts)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        live = {spec.name: stack.enter_context(start(spec, port=free_port())) for spec in chosen}
        for spec in chosen:
            url, process = live[spec.name]
            wait_ready(url, process, path=spec.ready_path, timeout=300)
        for spec in chosen:  # warm up each server (first calls allocate)
            url, process = live[spec.name]
            one_run(spec, url, process.pid, texts, c=8, seconds=1.0)
        pids = [process.pid for _, process in live.values()]
        for repeat in range(args.repeats):  # servers one after another at each concurrency
            for c in args.concurrency:
                for spec in rotated(chosen, repeat):
                    url, process = live[spec.name]
                    settle(pids)
                    summary = one_run(spec, url, process.pid, texts, c=c, seconds=args.seconds)
                    runs.setdefault((spec.name, c), []).append(summary)
        checked = {spec.name: (spec, live[spec.name][0]) for spec in chosen}
        agree = agreement(checked, banking_texts(args.agree)[-200:], args.model)
    lines = [medians(name, c, found) for (name, c), found in runs.items()]
    for line in lines:
        line["top_intent_agrees_with_ort_peer"] = agree[line["server"]]
    return lines, [*recording_overhead(runs), *target_lines(lines)]


def main() -> None:
    """Run the side-by-side benchmark and print/append its lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--agree", type=int, default=1700, help="agreement on texts up to this")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    parser.add_argument("--servers", default="", help="comma-separated names (default: all)")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--forward-limit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the servers stop, the served forward alone at the batch sizes they ran",
    )
    parser.add_argument(
        "--infinity", type=Path, help="bin folder of a venv with infinity-emb (see the docstring)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="costbot-peers-") as tmp:
        folder = Path(tmp)
        every = specs(args.model, folder, config=empty_config(folder), infinity=args.infinity)
        wanted = [n for n in args.servers.split(",") if n]
        chosen = [s for s in every if not wanted or s.name in wanted]
        started_on = machine()
        lines, beside = measure(args, chosen)
        write_lines(args.out, [*lines, *beside], started_on)  # kept even if the forward step fails
        print_table(lines)
        if args.forward_limit:
            sizes = sizes_seen(label for line in lines for label in line["batches"])
            limit = forward_limit(args.model, folder / "onnx-cache", sizes)
            write_lines(args.out, limit, started_on)
            beside += limit
    print_beside(beside)


def print_table(lines: list[dict[str, Any]]) -> None:
    """A readable table and the batch sizes each server ran."""
    print(f"\n{'server':34} {'c':>3} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'srv ms':>7}")
    for line in lines:
        print(
            f"{line['server']:34} {line['concurrency']:>3} {line['throughput_rps']:>8} "
            f"{line['p50_ms']:>8} {line['p99_ms']:>8} {line['server_cpu_ms_per_req']:>7}"
        )
    print("\nbatch sizes run (costbot: histogram buckets; ORT peer: exact sizes):")
    for line in lines:
        if line["batches"]:
            print(f"  {line['server']} c={line['concurrency']}: {json.dumps(line['batches'])}")


def print_recording(line: dict[str, Any]) -> None:
    """What recording cost at one concurrency: counted by costbot, and differenced."""
    c = line["concurrency"]
    if "recording_cpu_share" in line:
        print(
            f"recording, c={c}: {line['recording_cpu_share']:.1%} of costbot's server CPU by its "
            f"own counters (median; at most 5% run by run: {line['at_most_5_percent']})"
        )
    if "pairs" in line:
        print(
            f"recording on vs off, c={c}: server CPU/request {line['server_cpu_change']:+.1%}, "
            f"req/s {line['throughput_change']:+.1%} (median of {line['pairs']} pairs; at most "
            f"5%: {line['differenced_at_most_5_percent']})"
        )


def print_beside(lines: list[dict[str, Any]]) -> None:
    """Recording on against off, and the forward alone at the batch sizes the servers ran."""
    for line in lines:
        if line["bench"] == "recording_overhead":
            print_recording(line)
        elif line["bench"] == "peers_targets":
            print(
                f"targets c={line['concurrency']}: {line['rps_vs_fastest_peer']}x "
                f"{line['fastest_peer']}'s req/s; p50 {line['p50_ms']} vs {line['peer_p50_ms']} ms "
                f"({line['quickest_peer']}); met by the medians: {json.dumps(line['met'])}"
            )
            for name, judged in line["paired"].items():
                ratios, word = judged["ratios"], judged["verdict"]
                print(f"  {name}, repetition by repetition: {ratios} -> {word}")
        elif line["bench"] in ("forward_limit", "forward_bucketed"):
            how = "arrival order" if line["bench"] == "forward_limit" else "costbot's buckets"
            print(
                f"forward alone, {line['batch_size']} texts a batch ({how}): "
                f"{line['texts_per_s']} texts/s, {line['cpu_ms_per_text']} CPU ms/text"
            )


if __name__ == "__main__":
    main()
