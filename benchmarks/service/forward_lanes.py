"""One wide forward or several narrow ones: the served ONNX session on every core against one
single-thread session per core, each running its own batches at the same time.

    python -m benchmarks.service.forward_lanes [--sizes 1 8 16 64] [--repeats 4] \
        [--texts 512] [--out benchmarks/results/forward_lanes.jsonl]

`wide`: the service's session (intra-op threads = usable cores), batches of each size one after
another, as costbot's single forward worker runs them. `lanes`: one session of one intra-op
thread per core, each in its own thread, the same texts cut into batches of size / cores
(at least one) and dealt out in turn, as two workers would share one load. Real customer
messages (BANKING77), tokenized once, cut in arrival order and padded to each batch's longest.
Variants are interleaved within each repetition; one JSON line per variant and size with
medians: texts/s (wall), this process's CPU ms per text, and the wall ms of one batch. The
`1-lane-alone` runs single texts on one lane by itself: its wall ms against the wide session's
at size 1 is what one request at a time would lose; texts/s at 8 and more is what a loaded
server would gain.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from benchmarks.record import machine, write_lines
from benchmarks.service.forward_limit import (
    Batch,
    batches,
    forward_parser,
    run_all,
    served_forward,
    timed,
)
from benchmarks.service.harness import banking_texts
from models.encoder import tokenize
from models.onnx_engine import OnnxForward

SIZES = (1, 8, 16, 64)


def run_lanes(lanes: list[OnnxForward], found: list[Batch], tasks: list[str]) -> None:
    """Deal `found` out in turn to the lanes and run them at the same time."""
    with ThreadPoolExecutor(len(lanes)) as pool:
        done = [
            pool.submit(run_all, lane, found[k :: len(lanes)], tasks)
            for k, lane in enumerate(lanes)
        ]
        for future in done:
            future.result()


def line(
    variant: str, size: int, found: list[Batch], runs: list[tuple[float, float]], *, lanes: int
) -> dict[str, Any]:
    """Medians over repetitions for one variant at one size (`lanes` batches run at once)."""
    texts = sum(len(batch.lengths) for batch in found)
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    return {
        "bench": "forward_lanes",
        "variant": variant,
        "batch_size": size,
        "batch_rows": len(found[0].lengths),
        "texts": texts,
        "texts_per_s": round(texts / wall, 1),
        "cpu_ms_per_text": round(1000 * cpu / texts, 3),
        "wall_ms_per_batch": round(1000 * wall * lanes / len(found), 3),
        "repeats": len(runs),
    }


def measure(args: Any) -> list[dict[str, Any]]:
    """Both variants at every size, interleaved, with a warm-up of each."""
    classifier, wide = served_forward(args.model, args.cache)
    cores = len(os.sched_getaffinity(0))
    lanes = [OnnxForward(wide.path, tasks=classifier.tasks, threads=1) for _ in range(cores)]
    ids = tokenize(classifier.tokenizer, banking_texts(args.texts), classifier.meta.max_length).ids
    pad_id = classifier.tokenizer.pad_token_id or 0
    work: dict[tuple[str, int], tuple[list[Batch], Callable[..., None], int]] = {}
    for size in args.sizes:
        work[("wide", size)] = (batches(ids, size, pad_id), partial(run_all, wide), 1)
        narrow = batches(ids, max(1, size // cores), pad_id)
        work[(f"{cores}-lanes", size)] = (narrow, partial(run_lanes, lanes), cores)
    # A lone text on one lane: what one request at a time would wait with lanes.
    work[("1-lane-alone", 1)] = (batches(ids, 1, pad_id), partial(run_all, lanes[0]), 1)
    for found, run, _ in work.values():
        run(found[: 2 * cores], classifier.tasks)
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {key: [] for key in work}
    for _ in range(args.repeats):
        for key, (found, run, _) in work.items():
            runs[key].append(timed(partial(run, found, classifier.tasks)))
    return [
        line(variant, size, found, runs[(variant, size)], lanes=parallel)
        for (variant, size), (found, _, parallel) in work.items()
    ]


def main() -> None:
    """Measure and print/append one line per variant and size."""
    parser = forward_parser(__doc__, repeats=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    started_on = machine()
    write_lines(args.out, measure(args), started_on)


if __name__ == "__main__":
    main()
