"""ONNX Runtime fp32 and int8 against torch: held-out accuracy, logit difference and speed.

Usage: python -m benchmarks.service.bench_onnx --heldout DIR [--model DIR] --out results.jsonl
DIR holds the held-out CSVs (`python -m benchmarks.training.heldout_csv DIR`). Each engine
answers every held-out file of its task as the service would; one JSON line per engine and file,
then one line per engine with the single-text and 32-text forward times (medians of interleaved
repetitions). int8 is adopted where its accuracy is within 0.3 points of fp32 on every file.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.record import machine, write_line
from models.classifier import Classifier
from models.data import load_rows
from models.evaluate import evaluate
from models.onnx_engine import OnnxForward, cached_session, read_check
from models.paths import default_model_dir
from models.training_cost import adapter_version

FILES = {"intent": ["banking77.csv"], "sentiment": ["banking77-sentiment.csv", "sst2.csv"]}
ENGINES = ("torch-fp32", "onnx-fp32", "onnx-int8")


def engines(classifier: Classifier, model: Path, cache: Path) -> dict[str, OnnxForward | None]:
    """The three runtimes of the same weights (None: torch)."""
    version = adapter_version(model)
    found: dict[str, OnnxForward | None] = {"torch-fp32": None}
    for precision in ("fp32", "int8"):
        found[f"onnx-{precision}"] = cached_session(
            classifier, version=version, cache_dir=cache, precision=precision
        )
    return found


def accuracy_lines(
    classifier: Classifier, runtimes: dict[str, OnnxForward | None], args: argparse.Namespace
) -> None:
    """One line per engine and held-out file: served accuracy and macro F1."""
    for task, names in FILES.items():
        for name in names:
            rows = load_rows(args.heldout / name)
            for engine, forward in runtimes.items():
                classifier.use(forward)
                result = evaluate(classifier, task, rows, restrict=task == "sentiment")
                write_line(
                    args.out,
                    {
                        "bench": "onnx_accuracy",
                        "engine": engine,
                        "task": task,
                        "file": name,
                        "n": result["n"],
                        "accuracy": round(result["accuracy"], 4),
                        "macro_f1": round(result["macro_f1"], 4),
                        "machine": machine(),
                    },
                )


def speed_lines(
    classifier: Classifier, runtimes: dict[str, OnnxForward | None], args: argparse.Namespace
) -> None:
    """Forward time of 1 and 32 short texts per engine, medians of interleaved repetitions."""
    texts = [row.text for row in load_rows(args.heldout / "banking77.csv")[:32]]
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.repeats):
        for engine, forward in runtimes.items():
            classifier.use(forward)
            for size in (1, 32):
                times.setdefault((engine, size), []).append(
                    _timed(lambda size=size: classifier.predict(texts[:size]), args.calls)
                )
    for (engine, size), values in times.items():
        write_line(
            args.out,
            {
                "bench": "onnx_speed",
                "engine": engine,
                "texts": size,
                "ms_per_call": round(statistics.median(values), 3),
                "repeats": args.repeats,
                "machine": machine(),
            },
        )


def _timed(work: Callable[[], object], calls: int) -> float:
    work()
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1000


def main() -> None:
    """Evaluate every engine on the held-out files, then time them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    classifier = Classifier(args.model, device="cpu")
    with tempfile.TemporaryDirectory() as cache:
        runtimes = engines(classifier, args.model, Path(cache))
        check = read_check(Path(cache), adapter_version(args.model))
        write_line(args.out, {"bench": "onnx_export", **check.__dict__, "machine": machine()})
        accuracy_lines(classifier, runtimes, args)
        speed_lines(classifier, runtimes, args)


if __name__ == "__main__":
    main()
