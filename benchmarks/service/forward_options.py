"""ONNX Runtime session options and tokenizer calls for the served forward, side by side.

    python -m benchmarks.service.forward_options [--repeats 4] [--out results.jsonl]

Each variant is one session on the served fp32 export, differing from the served options
(`OnnxForward`: intra-op threads = usable CPUs, one inter-op thread, ORT_ENABLE_ALL, threads
spinning within a run only) in one respect; `eager-fused` is the encoder exported with eager
attention and fused by onnxruntime.transformers' BERT optimizer (Attention,
SkipLayerNormalization, BiasGelu, EmbedLayerNormalization); `int8` is the cached dynamic-int8
export (for its speed only). Each runs the served path (`Classifier.probabilities`) on batches
of 64 BANKING77 texts, in 16-row buckets and one text per forward, variants interleaved; one
JSON line per variant and bucket size with medians (texts/s and CPU ms per text). Then the
tokenizer: the served call (`models.encoder.tokenize`) against the `tokenizers` backend's
`encode_batch`, CPU microseconds per text.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.record import machine, write_lines
from benchmarks.service.forward_limit import forward_parser, served_forward, timed
from benchmarks.service.harness import banking_texts
from models.classifier import Classifier
from models.encoder import normalize, tokenize
from models.onnx_engine import OnnxForward, export_onnx, session_options

GROUP = 64


def session(path: Path, tasks: list[str], **changes: Any) -> OnnxForward:
    """An OnnxForward on `path` whose session options differ from the served ones by `changes`
    (threads, level, spinning)."""
    import onnxruntime as ort

    forward = OnnxForward(path, tasks=tasks, threads=changes.get("threads"))
    options = session_options(forward.threads, spinning=changes.get("spin", "1") == "1")
    if "level" in changes:
        options.graph_optimization_level = changes["level"]
    forward._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return forward


def fused_export(classifier: Classifier, folder: Path) -> Path:
    """The encoder exported with eager attention and fused for BERT by ONNX Runtime's optimizer."""
    from onnxruntime.transformers import optimizer

    config = classifier.encoder.config
    before = config._attn_implementation
    config._attn_implementation = "eager"  # the SDPA export is not matched by the fusions
    try:
        export_onnx(classifier, folder / "eager.onnx")
    finally:
        config._attn_implementation = before
    fused = optimizer.optimize_model(
        str(folder / "eager.onnx"),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=0,
    )
    fused.save_model_to_file(str(folder / "fused.onnx"))
    return folder / "fused.onnx"


def variants(classifier: Classifier, served: OnnxForward, folder: Path) -> dict[str, OnnxForward]:
    """The served session and one variant per option."""
    import onnxruntime as ort

    levels = ort.GraphOptimizationLevel
    tasks = classifier.tasks
    return {
        "served": served,
        "threads=1": session(served.path, tasks, threads=1),
        "level=extended": session(served.path, tasks, level=levels.ORT_ENABLE_EXTENDED),
        "level=basic": session(served.path, tasks, level=levels.ORT_ENABLE_BASIC),
        "spinning=off": session(served.path, tasks, spin="0"),
        "eager-fused": session(fused_export(classifier, folder), tasks),
        # Speed only: int8 is not served by default (held-out accuracy, models/service/engine.py).
        "int8": session(served.path.with_name("int8.onnx"), tasks),
    }


def option_lines(
    classifier: Classifier, found: dict[str, OnnxForward], ids: list[list[int]], repeats: int
) -> list[dict[str, object]]:
    """Medians per variant and bucket rows (16: the served bucket; 1: one text per forward)."""
    groups = [ids[i : i + GROUP] for i in range(0, len(ids) - GROUP + 1, GROUP)]
    texts = GROUP * len(groups)

    def run(forward: OnnxForward, rows: int) -> tuple[float, float]:
        classifier.use(forward)
        return timed(lambda: [classifier.probabilities(g, classifier.tasks, rows) for g in groups])

    for forward in found.values():
        run(forward, 16)
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for _ in range(repeats):
        for name, forward in found.items():
            for rows in (1, 16):
                runs.setdefault((name, rows), []).append(run(forward, rows))
    return [
        {
            "bench": "forward_options",
            "variant": name,
            "bucket_rows": rows,
            "texts": texts,
            "texts_per_s": round(texts / statistics.median(r[0] for r in found_runs), 1),
            "cpu_ms_per_text": round(statistics.median(r[1] for r in found_runs) * 1000 / texts, 3),
            "repeats": repeats,
        }
        for (name, rows), found_runs in runs.items()
    ]


def tokenizer_lines(
    classifier: Classifier, texts: list[str], repeats: int
) -> list[dict[str, object]]:
    """CPU microseconds per text: the served tokenize call and the backend's encode_batch, on
    16 texts a call and on one."""
    backend = classifier.tokenizer.backend_tokenizer
    length = classifier.meta.max_length

    def served(size: int) -> Callable[[], object]:
        return lambda: [
            tokenize(classifier.tokenizer, texts[i : i + size], length)
            for i in range(0, len(texts), size)
        ]

    def raw(size: int) -> Callable[[], object]:
        return lambda: [
            backend.encode_batch([normalize(t) for t in texts[i : i + size]])
            for i in range(0, len(texts), size)
        ]

    lines: list[dict[str, object]] = []
    for name, make in (("served tokenize", served), ("tokenizers encode_batch", raw)):
        for size in (1, 16):
            work = make(size)
            work()
            cpu = statistics.median(timed(work)[1] for _ in range(repeats))
            lines.append(
                {
                    "bench": "tokenize",
                    "call": name,
                    "texts_per_call": size,
                    "cpu_us_per_text": round(cpu * 1e6 / len(texts), 1),
                }
            )
    return lines


def main() -> None:
    """Run every variant and the tokenizer comparison; print/append one line each."""
    args = forward_parser(__doc__, repeats=4).parse_args()
    started_on = machine()
    classifier, served = served_forward(args.model, args.cache)
    texts = banking_texts(args.texts)
    ids = tokenize(classifier.tokenizer, texts, classifier.meta.max_length).ids
    with tempfile.TemporaryDirectory(prefix="costbot-fused-") as folder:
        found = variants(classifier, served, Path(folder))
        lines = option_lines(classifier, found, ids, args.repeats)
    lines += tokenizer_lines(classifier, texts, args.repeats)
    write_lines(args.out, lines, started_on)


if __name__ == "__main__":
    main()
