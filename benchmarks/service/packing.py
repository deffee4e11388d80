"""Packed against padded batches: the served forward on the same texts, side by side.

    python -m benchmarks.service.packing [--sizes 1 2 4 8 16 32 64] [--limits 64 128 256] \
        [--repeats 5] [--out benchmarks/results/packing.jsonl]
    python -m benchmarks.service.packing --lone-texts 1000 [--out ...]

Real customer messages (BANKING77, as the peers benchmark sends them) are tokenized once and cut
into batches of each size in arrival order, as concurrent requests arrive. Each batch goes
through `Classifier.probabilities`, the path the service runs, under each layout:
- `padded`: the fp32 export in length buckets of 16 rows (the service's layout before packing);
- `padded-one-bucket`: the same export, each batch padded to its longest text (as the ONNX
  Runtime peer of benchmarks/service/peers runs it);
- `packed-N`: the packed export, packs of at most N tokens (models/packing.py; the service's
  layout at N = PACK_TOKENS).
Layouts and sizes are interleaved within each repetition; one JSON line per layout and size with
medians over repetitions (texts/s, this process's CPU ms per text) and the largest difference of
any probability from the padded layout's, then the ratio of each layout to `padded` per size.

`--lone-texts N` measures only a batch of one, the case where drift between repetitions is as
large as the difference: each of N texts runs through the served packed graph and the padded
graph back to back (which goes first alternates), and the line gives the median of the per-text
ratios of their times, with its deciles.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from benchmarks.record import machine, write_lines
from benchmarks.service.forward_limit import forward_parser, timed
from benchmarks.service.harness import banking_texts
from models.classifier import Classifier
from models.encoder import tokenize
from models.onnx_engine import OnnxForward, PackedOnnxForward, cached_session
from models.packing import PACK_TOKENS
from models.training_cost import adapter_version

SIZES = (1, 2, 4, 8, 16, 32, 64)
LIMITS = (64, PACK_TOKENS, 256)
BUCKET_ROWS = 16  # the service's bucket size (ServeOptions.bucket_size)
Answers = dict[tuple[str, int], list[dict[str, np.ndarray]]]


def served_pair(
    classifier: Classifier, args: argparse.Namespace
) -> tuple[OnnxForward, PackedOnnxForward]:
    """The padded fp32 export and the packed one (PACK_TOKENS), as the service opens them."""
    version = adapter_version(args.model)
    session = partial(
        cached_session, classifier, version=version, cache_dir=args.cache, precision="fp32"
    )
    packed = session(packed=True)
    assert isinstance(packed, PackedOnnxForward)
    return session(), packed


def layouts(classifier: Classifier, args: argparse.Namespace) -> dict[str, tuple[Any, int]]:
    """{name: (forward, rows per bucket)}: the padded export twice, the packed one per limit."""
    padded, packed = served_pair(classifier, args)
    found: dict[str, tuple[Any, int]] = {
        "padded": (padded, BUCKET_ROWS),
        "padded-one-bucket": (padded, max(args.sizes)),
    }
    for limit in args.limits:
        forward = PackedOnnxForward(
            packed.path,
            tasks=packed.tasks,
            pooling=packed.pooling,
            pad_id=packed.pad_id,
            pack_tokens=limit,
        )
        found[f"packed-{limit}"] = (forward, BUCKET_ROWS)
    return found


def run_all(
    classifier: Classifier, forward: OnnxForward, groups: list[list[list[int]]], rows: int
) -> list[dict[str, np.ndarray]]:
    """Every batch through the served path with `forward`, in buckets of `rows`."""
    classifier.use(forward)
    return [classifier.probabilities(group, classifier.tasks, rows) for group in groups]


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One line per layout and size, then the ratio lines."""
    classifier = Classifier(args.model, device="cpu")
    ids = tokenize(classifier.tokenizer, banking_texts(args.texts), classifier.meta.max_length).ids
    by_size = {s: [ids[i : i + s] for i in range(0, len(ids) - s + 1, s)] for s in args.sizes}
    found = layouts(classifier, args)
    answers = {
        (name, size): run_all(classifier, forward, by_size[size], rows)
        for name, (forward, rows) in found.items()
        for size in args.sizes
    }  # also the warm-up: first calls at a shape allocate
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {key: [] for key in answers}
    for _ in range(args.repeats):
        for size in args.sizes:
            for name, (forward, rows) in found.items():
                work = partial(run_all, classifier, forward, by_size[size], rows)
                runs[name, size].append(timed(work))
    lines = [
        _line(name, size, runs[name, size], by_size[size], _gap(answers, name, size))
        for name, size in runs
    ]
    return [*lines, *_ratios(lines)]


def _gap(answers: Answers, name: str, size: int) -> float:
    """Largest absolute difference of any probability from the padded layout's."""
    ours, padded = answers[name, size], answers["padded", size]
    return max(
        float(np.abs(mine[task] - theirs[task]).max())
        for mine, theirs in zip(ours, padded, strict=True)
        for task in mine
    )


def _line(
    name: str,
    size: int,
    runs: list[tuple[float, float]],
    groups: Sequence[Sequence[list[int]]],
    gap: float,
) -> dict[str, Any]:
    texts = sum(len(group) for group in groups)
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    return {
        "bench": "packing",
        "layout": name,
        "batch_size": size,
        "texts": texts,
        "tokens_per_text": round(sum(len(x) for g in groups for x in g) / texts, 2),
        "texts_per_s": round(texts / wall, 1),
        "cpu_ms_per_text": round(cpu * 1000 / texts, 3),
        "max_prob_diff_vs_padded": gap,
        "repeats": len(runs),
    }


def _ratios(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: each layout's texts/s over the padded layout's."""
    padded = {
        line["batch_size"]: line["texts_per_s"] for line in lines if line["layout"] == "padded"
    }
    return [
        {
            "bench": "packing_ratio",
            "layout": line["layout"],
            "batch_size": line["batch_size"],
            "texts_per_s_vs_padded": round(line["texts_per_s"] / padded[line["batch_size"]], 3),
        }
        for line in lines
        if line["layout"] != "padded"
    ]


def lone_text_line(args: argparse.Namespace) -> dict[str, Any]:
    """One text at a time, packed (PACK_TOKENS) and padded back to back on each text: the
    median and deciles of packed time over padded time (below 1: packed is quicker)."""
    classifier = Classifier(args.model, device="cpu")
    padded_forward, packed_forward = served_pair(classifier, args)
    pair = {"padded": padded_forward, f"packed-{PACK_TOKENS}": packed_forward}
    texts = banking_texts(args.lone_texts + 50)
    ids = tokenize(classifier.tokenizer, texts, classifier.meta.max_length).ids
    times: dict[str, list[float]] = {name: [] for name in pair}
    for index, row in enumerate(ids):
        order = list(pair) if index % 2 else list(reversed(pair))
        for name in order:
            classifier.use(pair[name])
            started = time.perf_counter()
            classifier.probabilities([row], classifier.tasks, BUCKET_ROWS)
            times[name].append(time.perf_counter() - started)
    warm = slice(50, None)  # the first texts allocate
    padded, packed = times["padded"][warm], times[f"packed-{PACK_TOKENS}"][warm]
    ratios = [a / b for a, b in zip(packed, padded, strict=True)]
    return {
        "bench": "packing_lone_text",
        "texts": len(ratios),
        "packed_ms_median": round(statistics.median(packed) * 1000, 3),
        "padded_ms_median": round(statistics.median(padded) * 1000, 3),
        "packed_over_padded_median": round(statistics.median(ratios), 4),
        "packed_over_padded_deciles": [round(x, 3) for x in statistics.quantiles(ratios, n=10)],
    }


def main() -> None:
    """Measure and print/append the lines."""
    parser = forward_parser(__doc__, repeats=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--limits", type=int, nargs="+", default=list(LIMITS))
    parser.add_argument("--lone-texts", type=int, default=0, help="only a batch of one, N texts")
    args = parser.parse_args()
    started_on = machine()
    lines = [lone_text_line(args)] if args.lone_texts else measure(args)
    write_lines(args.out, lines, started_on)


if __name__ == "__main__":
    main()
