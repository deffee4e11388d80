"""Tokenize once: the served forward given the ids counted on the event loop, beside tokenizing
again in the forward thread.

    python -m benchmarks.service.tokenize_once [--batch 8] [--texts 512] [--repeats 7] \
        [--out benchmarks/results/tokenize_once.jsonl]

The model and its ONNX session are opened as the service opens them (`served_forward`); real
customer messages (BANKING77) are cut into batches of `--batch` in arrival order and their
untruncated ids counted once (`ServedModel.encode`, as the request handler does). One JSON
line with medians of interleaved runs, in this process's CPU ms per text: `Classifier.predict`
tokenizing again, `predict(full_ids=...)` carrying the ids, and the tokenizing alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks.record import machine, write_lines
from benchmarks.service.forward_limit import forward_parser, served_forward
from benchmarks.service.harness import banking_texts
from models.encoder import tokenize
from models.service.model import ServedModel
from models.training_cost import adapter_version


def cpu_ms_per_text(work: Callable[[], object], texts: int) -> float:
    """This process's CPU milliseconds per text of one call of `work`."""
    started = time.process_time()
    work()
    return (time.process_time() - started) * 1000 / texts


def measure(args: argparse.Namespace) -> dict[str, object]:
    """The medians line (CPU ms per text for each way)."""
    classifier, forward = served_forward(args.model, args.cache)
    classifier.use(forward)
    served = ServedModel(classifier, args.model, adapter_version(args.model))
    texts = banking_texts(args.texts)
    groups = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    counted = [served.encode(group) for group in groups]
    window = classifier.meta.max_length
    ways: dict[str, Callable[[], object]] = {
        "tokenized_in_forward": lambda: [classifier.predict(g, batch_size=16) for g in groups],
        "ids_carried": lambda: [
            classifier.predict(g, batch_size=16, full_ids=ids)
            for g, ids in zip(groups, counted, strict=True)
        ],
        "tokenize_alone": lambda: [tokenize(classifier.tokenizer, g, window) for g in groups],
    }
    for work in ways.values():
        work()
    runs: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, work in ways.items():
            runs[name].append(cpu_ms_per_text(work, len(texts)))
    medians = {f"cpu_ms_per_text_{k}": round(statistics.median(v), 4) for k, v in runs.items()}
    return {"bench": "tokenize_once", "batch_size": args.batch, "texts": len(texts), **medians}


def main() -> None:
    """Measure and print/append the line."""
    parser = forward_parser(__doc__, repeats=7)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    started_on = machine()
    write_lines(args.out, [{**measure(args), "repeats": args.repeats}], started_on)


if __name__ == "__main__":
    main()
