"""What the side-by-side figures are put beside: costbot with recording off, and the machine's
limit (the served forward alone, in this process, at the batch sizes the servers ran)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.service.forward_limit import bucketed_lines, limit_lines, served_forward
from benchmarks.service.harness import banking_texts
from models.classifier import FORWARD_TOKENS, MAX_PADDING
from models.encoder import tokenize

RECORDING, NOT_RECORDING = "costbot", "costbot-no-recording"
PIPELINE, ONE_TEXT = "transformers-pipeline-fastapi", "costbot-one-text-per-forward"
MAX_RECORDING_OVERHEAD = 0.05  # issue 20: recording may add at most 5% server CPU a request
# The served bucket (models.service.runner.RunnerConfig.bucket_size).
SERVED_BUCKET = 16


def recording_overhead(runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per concurrency, recording on against off in runs taken one after the other (the k-th
    repetition of each): the median and every pair's change in server CPU ms per request and
    in req/s (+0.05: 5% more CPU, or 5% more req/s). Empty unless both servers ran."""
    lines = []
    for (name, c), on in sorted(runs.items()):
        off = runs.get((NOT_RECORDING, c))
        if name != RECORDING or not off:
            continue
        cpu = [_change(a, b, "server_cpu_ms_per_req") for a, b in zip(on, off, strict=False)]
        rps = [_change(a, b, "throughput_rps") for a, b in zip(on, off, strict=False)]
        lines.append(
            {
                "bench": "recording_overhead",
                "concurrency": c,
                "pairs": len(cpu),
                "server_cpu_change": round(statistics.median(cpu), 4),
                "throughput_change": round(statistics.median(rps), 4),
                "server_cpu_changes": cpu,
                "throughput_changes": rps,
                "at_most_5_percent": verdict([x <= MAX_RECORDING_OVERHEAD for x in cpu]),
            }
        )
    return lines


def verdict(meets: Sequence[bool]) -> str:
    """What paired repetitions say of a target: `met` where every pair meets it, `not met`
    where none does, else `not resolved`.

    Over n pairs, the smallest and largest paired figures bound their median with confidence
    1 - 2 * 0.5**n (93.75 % for 5 pairs; the order-statistic interval for a median, Conover,
    Practical Nonparametric Statistics, 3rd ed., section 3.2), so a verdict other than `not
    resolved` holds at that confidence. Raises ValueError on no pairs."""
    if not meets:
        raise ValueError("no paired repetitions to judge")
    if all(meets):
        return "met"
    return "not met" if not any(meets) else "not resolved"


def target_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 20's targets, per concurrency, from one run's median lines: costbot against the
    best peer (every server not named costbot*) in req/s and in p50, against the pipeline and
    against itself at one text per forward; `met` per target. Empty where costbot or no peer
    ran."""
    by = {(line["server"], line["concurrency"]): line for line in lines}
    found = []
    for c in sorted({line["concurrency"] for line in lines}):
        ours = by.get((RECORDING, c))
        peers = [line for line in lines if line["concurrency"] == c and _is_peer(line)]
        if ours is None or not peers:
            continue
        fastest = max(peers, key=lambda line: line["throughput_rps"])
        quickest = min(peers, key=lambda line: line["p50_ms"])
        found.append(
            {
                "bench": "peers_targets",
                "concurrency": c,
                "fastest_peer": fastest["server"],
                "rps_vs_fastest_peer": _ratio(ours, fastest),
                "quickest_peer": quickest["server"],
                "p50_ms": ours["p50_ms"],
                "peer_p50_ms": quickest["p50_ms"],
                "rps_vs_pipeline": _ratio(ours, by.get((PIPELINE, c))),
                "rps_vs_one_text_per_forward": _ratio(ours, by.get((ONE_TEXT, c))),
            }
        )
        found[-1]["met"] = _met(found[-1])
        found[-1]["paired"] = _paired(c, ours, fastest, quickest, by)
    return found


def _paired(
    c: int,
    ours: dict[str, Any],
    fastest: dict[str, Any],
    quickest: dict[str, Any],
    by: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Each target judged repetition by repetition (the k-th run of costbot against the k-th of
    the other server, taken in the same round): the paired ratios and `verdict`'s word.
    Empty where the lines carry no runs."""
    checks: list[tuple[str, dict[str, Any] | None, str, float, bool]] = []
    if c == 1:
        checks += [("p50_at_or_below_best_peer", quickest, "p50_ms", 1.0, False)]
        checks += [("2x_pipeline", by.get((PIPELINE, c)), "throughput_rps", 2.0, True)]
    if c == 8:
        checks += [("1.1x_fastest_peer", fastest, "throughput_rps", 1.1, True)]
    if c == 64:
        checks += [("1x_fastest_peer", fastest, "throughput_rps", 1.0, True)]
        checks += [("5x_one_text_per_forward", by.get((ONE_TEXT, c)), "throughput_rps", 5.0, True)]
    judged = {}
    for name, other, key, target, higher in checks:
        ratios = _paired_ratios(ours, other, key)
        if ratios:
            meets = [r >= target if higher else r <= target for r in ratios]
            judged[name] = {"ratios": ratios, "verdict": verdict(meets)}
    return judged


def _paired_ratios(ours: dict[str, Any], other: dict[str, Any] | None, key: str) -> list[float]:
    if other is None:
        return []
    pairs = zip(ours.get("runs", []), other.get("runs", []), strict=False)
    return [round(a[key] / b[key], 3) for a, b in pairs if b[key]]


def _is_peer(line: dict[str, Any]) -> bool:
    return not str(line["server"]).startswith("costbot")


def _ratio(ours: dict[str, Any], other: dict[str, Any] | None) -> float | None:
    if other is None or not other["throughput_rps"]:
        return None
    return round(ours["throughput_rps"] / other["throughput_rps"], 3)


def _met(line: dict[str, Any]) -> dict[str, bool]:
    """The issue's targets at this concurrency, where their servers ran (c=1: p50 and 2x the
    pipeline; c=8: 1.1x the fastest peer; c=64: the fastest peer, 5x one text per forward)."""
    c, met = line["concurrency"], {}
    pipeline, one_text = line["rps_vs_pipeline"], line["rps_vs_one_text_per_forward"]
    if c == 1:
        met["p50_at_or_below_best_peer"] = line["p50_ms"] <= line["peer_p50_ms"]
        if pipeline is not None:
            met["2x_pipeline"] = pipeline >= 2
    if c == 8:
        met["1.1x_fastest_peer"] = line["rps_vs_fastest_peer"] >= 1.1
    if c == 64:
        met["1x_fastest_peer"] = line["rps_vs_fastest_peer"] >= 1
        if one_text is not None:
            met["5x_one_text_per_forward"] = one_text >= 5
    return met


def _change(on: dict[str, Any], off: dict[str, Any], key: str) -> float:
    return round(on[key] / off[key] - 1, 4) if off[key] else 0.0


def sizes_seen(batches: Iterable[str], largest: int = 64) -> list[int]:
    """Batch sizes from the servers' counts ("7", or a histogram range "17-32": its top)."""
    tops = (label.split("-")[-1] for label in batches if "+" not in label)
    return sorted({min(largest, int(float(top))) for top in tops} | {1})


def forward_limit(
    model: Path, cache: Path, sizes: list[int], *, repeats: int = 3
) -> list[dict[str, Any]]:
    """The served forward alone at `sizes` (arrival order, padded to the longest), the MatMul
    rate, and costbot's bucketing (sorted, 16-row buckets cut at MAX_PADDING where a cut saves
    more than FORWARD_TOKENS padded tokens) at the largest."""
    classifier, forward = served_forward(model, cache)
    ids = tokenize(classifier.tokenizer, banking_texts(512), classifier.meta.max_length).ids
    lines = limit_lines(classifier, forward, ids, sizes=sizes, repeats=repeats)
    classifier.use(forward)
    cut = [(SERVED_BUCKET, MAX_PADDING, FORWARD_TOKENS)]
    lines += bucketed_lines(classifier, ids, group=max(sizes), cuts=cut, repeats=repeats)
    return [{**line, "for": "peers"} for line in lines]
