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
FASTEST, QUICKEST = "fastest peer", "quickest peer"  # the best peer by req/s, by p50
# Issue 20's targets by concurrency: (name, the server costbot is put beside, the figure, the
# bound on costbot's figure over its, whether more is better).
TARGETS: dict[int, tuple[tuple[str, str, str, float, bool], ...]] = {
    1: (
        ("p50_at_or_below_best_peer", QUICKEST, "p50_ms", 1.0, False),
        ("2x_pipeline", PIPELINE, "throughput_rps", 2.0, True),
    ),
    8: (("1.1x_fastest_peer", FASTEST, "throughput_rps", 1.1, True),),
    64: (
        ("1x_fastest_peer", FASTEST, "throughput_rps", 1.0, True),
        ("5x_one_text_per_forward", ONE_TEXT, "throughput_rps", 5.0, True),
    ),
}
# The served bucket (models.service.runner.RunnerConfig.bucket_size).
SERVED_BUCKET = 16


def recording_overhead(runs: dict[tuple[str, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per concurrency costbot ran at, what recording costs, measured two ways.

    Counted: the share of costbot's server CPU that its own thread-CPU counters put on
    metering, pricing, building records and writing them (`costbot_costing_cpu_seconds`,
    `costbot_writer_cpu_seconds`), run by run. It counts the CPU of recording's own code
    (building each text's outcome too, which an unrecorded answer also needs) but not what that
    code does to the rest: the GIL held by the writer, caches it evicts. Differenced (when
    costbot-no-recording ran too): recording on against off in runs taken one after the other
    (the k-th repetition of each), each pair's change in server CPU ms per request and in req/s
    (+0.05: 5% more CPU, or 5% more req/s); it sees every effect, but on 2 cores a pair's noise
    is about as large as the target itself. Each gets its own verdict."""
    lines = []
    for (name, c), on in sorted(runs.items()):
        if name != RECORDING:
            continue
        shares = [
            run["recording_cpu_share"] for run in on if run.get("recording_cpu_share") is not None
        ]
        line: dict[str, Any] = {"bench": "recording_overhead", "concurrency": c}
        if shares:
            line["recording_cpu_share"] = round(statistics.median(shares), 4)
            line["recording_cpu_shares"] = shares
            line["at_most_5_percent"] = verdict([x <= MAX_RECORDING_OVERHEAD for x in shares])
        off = runs.get((NOT_RECORDING, c))
        if off:
            cpu = [_change(a, b, "server_cpu_ms_per_req") for a, b in zip(on, off, strict=False)]
            rps = [_change(a, b, "throughput_rps") for a, b in zip(on, off, strict=False)]
            line["pairs"] = len(cpu)
            line["server_cpu_change"] = round(statistics.median(cpu), 4)
            line["throughput_change"] = round(statistics.median(rps), 4)
            line["server_cpu_changes"], line["throughput_changes"] = cpu, rps
            line["differenced_at_most_5_percent"] = verdict(
                [x <= MAX_RECORDING_OVERHEAD for x in cpu]
            )
        if shares or off:
            lines.append(line)
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
    against itself at one text per forward; each of TARGETS judged on the medians (`met`) and
    repetition by repetition (`paired`). Empty where costbot or no peer ran."""
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
        beside = {FASTEST: fastest, QUICKEST: quickest, PIPELINE: by.get((PIPELINE, c))}
        beside[ONE_TEXT] = by.get((ONE_TEXT, c))
        found[-1]["met"], found[-1]["paired"] = _judged(c, ours, beside)
    return found


def _is_peer(line: dict[str, Any]) -> bool:
    return not str(line["server"]).startswith("costbot")


def _ratio(ours: dict[str, Any], other: dict[str, Any] | None) -> float | None:
    if other is None or not other["throughput_rps"]:
        return None
    return round(ours["throughput_rps"] / other["throughput_rps"], 3)


def _judged(
    c: int, ours: dict[str, Any], beside: dict[str, dict[str, Any] | None]
) -> tuple[dict[str, bool], dict[str, dict[str, Any]]]:
    """The targets at concurrency `c` whose other server ran (`beside`: the line of each, by
    the name TARGETS gives it), judged on the medians (`met`) and repetition by repetition
    (`paired`: the k-th run of costbot against the k-th of the other server, taken in the same
    round; the paired ratios and `verdict`'s word; none where the lines carry no runs)."""
    met, paired = {}, {}
    for name, whom, key, bound, higher in TARGETS.get(c, ()):
        other = beside.get(whom)
        if other is None or not other[key]:
            continue
        met[name] = _meets(ours[key], other[key], bound, higher=higher)
        runs = zip(ours.get("runs", []), other.get("runs", []), strict=False)
        pairs = [(a[key], b[key]) for a, b in runs if b[key]]
        if pairs:
            meets = [_meets(a, b, bound, higher=higher) for a, b in pairs]
            paired[name] = {
                "ratios": [round(a / b, 3) for a, b in pairs],
                "verdict": verdict(meets),
            }
    return met, paired


def _meets(ours: float, other: float, bound: float, *, higher: bool) -> bool:
    """More is better: ours / other, to 3 decimals as reported, at least `bound`; else ours at
    most `bound` times other."""
    return round(ours / other, 3) >= bound if higher else ours <= bound * other


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
