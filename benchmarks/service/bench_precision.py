"""(c) fp32 vs bf16 (autocast) vs int8 (dynamic quantisation) on CPU: throughput and accuracy.

Usage: python -m benchmarks.service.bench_precision [--model DIR] --out results.jsonl
           [--rows 1000] [--repeats 3] [--batch-size 32]
Accuracy is argmax accuracy of the intent head on the held-out split the trainer used (the
seeded 10 % stratified split of banking77/train.csv); throughput is the median over repeats of
classifying the first --rows held-out texts, reported as tokens/s and as a share of the
measured matmul limit (MiniLM-L6 ≈ 21 MFLOP per token).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from benchmarks.service.harness import BANKING77, cpu_model
from models.classifier import Classifier
from models.data import load_rows
from models.paths import default_model_dir
from models.recipe import Recipe
from models.split import stratified_split

MFLOP_PER_TOKEN = 21.0
LIMIT_GFLOPS = {"fp32": 156.0, "bf16": 408.0, "int8": 156.0}  # int8: no measured limit; vs fp32


def held_out(rows_limit: int) -> tuple[list[str], list[str]]:
    """Texts and labels of the trainer's intent held-out split."""
    rows = load_rows(BANKING77)
    _, held = stratified_split([r.label for r in rows], 0.1, Recipe().seed)
    return [rows[i].text for i in held][:rows_limit], [rows[i].label or "" for i in held][
        :rows_limit
    ]


def load(model: Path, precision: str) -> Classifier:
    """The support model, converted to `precision`."""
    classifier = Classifier(model, device="cpu")
    if precision == "int8":
        encoder = classifier.encoder
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.ao.quantization.quantize_dynamic(
                encoder, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
    return classifier


@contextlib.contextmanager
def precision_context(precision: str) -> Iterator[None]:
    """bf16 runs under CPU autocast (matmuls in bf16, reductions in fp32)."""
    if precision == "bf16":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    else:
        yield


def measure(
    classifier: Classifier,
    texts: list[str],
    labels: list[str],
    *,
    precision: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Accuracy and the median throughput over repeats."""
    times = []
    with precision_context(precision):
        classifier.predict(texts[:64], tasks=["intent"], batch_size=args.batch_size)  # warm-up
        for _ in range(args.repeats):
            started = time.perf_counter()
            predictions = classifier.predict(texts, tasks=["intent"], batch_size=args.batch_size)
            times.append(time.perf_counter() - started)
    tokens = sum(min(p.n_tokens, 64) for p in predictions)
    seconds = statistics.median(times)
    gflops = tokens / seconds * MFLOP_PER_TOKEN / 1000
    correct = sum(
        p.tasks["intent"].top[0][0] == gold for p, gold in zip(predictions, labels, strict=True)
    )
    return {
        "precision": precision,
        "rows": len(texts),
        "batch_size": args.batch_size,
        "accuracy": round(correct / len(texts), 4),
        "texts_per_s": round(len(texts) / seconds, 1),
        "tokens_per_s": round(tokens / seconds),
        "gflops": round(gflops, 1),
        "share_of_limit": round(gflops / LIMIT_GFLOPS[precision], 3),
        "limit_gflops": LIMIT_GFLOPS[precision],
        "seconds": [round(t, 3) for t in times],
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
    }


def main() -> None:
    """Run each precision and append one JSON line each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    texts, labels = held_out(args.rows)
    with args.out.open("a") as out:
        for precision in ("fp32", "bf16", "int8"):
            row = measure(
                load(args.model, precision), texts, labels, precision=precision, args=args
            )
            out.write(json.dumps(row) + "\n")
            out.flush()
            print(row, flush=True)


if __name__ == "__main__":
    main()
