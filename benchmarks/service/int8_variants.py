"""Dynamic int8 quantisation variants of the served export: held-out accuracy on every file, and
the forward's time.

    python -m benchmarks.training.heldout_csv /tmp/heldout
    python -m benchmarks.service.int8_variants --heldout /tmp/heldout \
        [--out benchmarks/results/int8_variants.jsonl]

Each variant is `onnxruntime.quantization.quantize_dynamic` (int8 weights, activations quantised
per batch at run time) of the fp32 export, differing in what it quantises: `int8` is the cached
export the service offers as `service.precision = int8` (every MatMul and Gemm, one scale per
tensor); `matmul-per-channel` leaves the two heads (Gemm) in fp32 and gives each weight column its
own scale; `linear-per-channel` quantises only the encoder's six linear layers a block (query,
key, value, attention output, intermediate, output), per channel. Each answers every held-out file
as the service does (`models.evaluate`; out-of-scope: the share answered `unknown`); then one
short text and 32 texts a forward, medians of 5. One JSON line per variant. A variant may be
served by default only where no file loses more than 0.3 points against fp32 (issue 20).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.record import machine, write_line
from models.classifier import Classifier
from models.data import load_rows
from models.evaluate import evaluate
from models.onnx_engine import OnnxForward, cached_session
from models.paths import default_model_dir
from models.training_cost import adapter_version

FILES = {
    "banking77.csv": "intent",
    "banking77-sentiment.csv": "sentiment",
    "sst2.csv": "sentiment",
    "tweeteval.csv": "sentiment",
    "goemotions.csv": "sentiment",
}
OUT_OF_SCOPE = "out-of-scope.csv"
LINEAR = (
    "attention/self/query",
    "attention/self/key",
    "attention/self/value",
    "attention/output/dense",
    "intermediate/dense",
    "output/dense",
)
BLOCKS = 6  # the MiniLM encoder's blocks
ALLOWED_DROP_POINTS = 0.3


def variants() -> dict[str, dict[str, Any]]:
    """quantize_dynamic's arguments per variant (besides the cached `int8`)."""
    linear = [f"/encoder/encoder/layer.{i}/{part}/MatMul" for i in range(BLOCKS) for part in LINEAR]
    return {
        "matmul-per-channel": {"op_types_to_quantize": ["MatMul"], "per_channel": True},
        "linear-per-channel": {"nodes_to_quantize": linear, "per_channel": True},
    }


def accuracy(classifier: Classifier, heldout: Path) -> dict[str, float]:
    """Served accuracy in points per held-out file; out-of-scope: points answered `unknown`."""
    found = {}
    for name, task in FILES.items():
        rows = load_rows(heldout / name)
        result = evaluate(classifier, task, rows, restrict=task == "sentiment")
        found[name] = round(result["accuracy"] * 100, 2)
    texts = [row.text for row in load_rows(heldout / OUT_OF_SCOPE, need_label=False)]
    answers = classifier.predict(texts, tasks=["intent"])
    unknown = sum(answer.tasks["intent"].label == "unknown" for answer in answers)
    found[OUT_OF_SCOPE] = round(unknown / len(texts) * 100, 2)
    return found


def forward_ms(classifier: Classifier, texts: list[str]) -> dict[str, float]:
    """Median ms of one text a call (over 32 calls) and of 32 texts in one call, of 5 repeats."""
    one, many = [], []
    for _ in range(5):
        started = time.perf_counter()
        for text in texts:
            classifier.predict([text])
        one.append((time.perf_counter() - started) / len(texts) * 1000)
        started = time.perf_counter()
        classifier.predict(texts)
        many.append((time.perf_counter() - started) * 1000)
    return {
        "ms_one_text": round(statistics.median(one), 3),
        "ms_32_texts": round(statistics.median(many), 2),
    }


def main() -> None:
    """Quantise, evaluate and time each variant beside fp32."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--heldout", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    classifier = Classifier(args.model, device="cpu")
    texts = [row.text for row in load_rows(args.heldout / "banking77.csv")[:32]]
    with tempfile.TemporaryDirectory() as cache:
        version = adapter_version(args.model)
        fp32 = cached_session(classifier, version=version, cache_dir=Path(cache), precision="fp32")
        files = {"fp32": fp32.path, "int8": fp32.path.with_name("int8.onnx")}
        for name, options in variants().items():
            files[name] = Path(cache) / f"{name}.onnx"
            quantize_dynamic(
                str(fp32.path), str(files[name]), weight_type=QuantType.QInt8, **options
            )
        reference: dict[str, float] = {}
        for name, path in files.items():
            classifier.use(OnnxForward(path, tasks=classifier.tasks))
            points = accuracy(classifier, args.heldout)
            reference = reference or points
            drops = {f: round(reference[f] - points[f], 2) for f in FILES}
            line: dict[str, Any] = {"bench": "int8_variants", "variant": name}
            line |= {"accuracy_points": points, "drop_points": drops}
            line["within_0.3"] = max(drops.values()) <= ALLOWED_DROP_POINTS
            write_line(args.out, line | forward_ms(classifier, texts) | {"machine": machine()})


if __name__ == "__main__":
    main()
