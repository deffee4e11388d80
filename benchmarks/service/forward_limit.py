"""The machine's limit: the served ONNX encoder's forward alone (no HTTP, no batcher, no costing).

    python -m benchmarks.service.forward_limit [--sizes 1 8 16 32 64] [--repeats 5] \
        [--texts 512] [--out benchmarks/results/forward_limit.jsonl]
    python -m benchmarks.service.forward_limit --bucketed-only --groups 2 4 8 16 64 \
        --buckets 16 --paddings 0.1 --forward-tokens 0 16 24 32 --repeats 5

The session is opened exactly as the service opens it (`cached_session`: the cached fp32 export,
ONNX Runtime threads as costbot configures them). Real customer messages (BANKING77, the texts
the peers benchmark sends) are tokenized once, then cut into batches of each size in arrival
order (each padded to its longest text, as a batch of concurrent requests would be). Sizes are
interleaved within each repetition; one JSON line per size with medians: texts/s, this
process's CPU ms per text (all ONNX Runtime threads), and the encoder's FLOPs per second, on
real tokens and on the padded tokens it computed. A last line gives the measured rate of the
encoder's largest matrix product alone (ONNX Runtime MatMul, same threads), the most the CPU
does on this network's arithmetic, so each size can be put beside it. Then the served path's
buckets (`Classifier.probabilities`) on batches of each `--groups` size (default: the largest
size), per cut: by rows only, and by each `--paddings` share times `--forward-tokens` saving.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.record import machine, write_lines
from benchmarks.service.harness import banking_texts
from models.classifier import FORWARD_TOKENS, MAX_PADDING, Classifier
from models.encoder import tokenize
from models.onnx_engine import OnnxForward, cached_session, pad
from models.paths import default_model_dir
from models.training_cost import adapter_version

SIZES = (1, 8, 16, 32, 64)
BUCKETS = (1, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Shape:
    """The encoder's dimensions (from its config): layers, hidden width, feed-forward width."""

    layers: int
    hidden: int
    ffn: int
    head_outputs: int

    def flops(self, rows: int, width: int) -> float:
        """FLOPs of one forward of `rows` texts `width` tokens wide (2 per multiply-add):
        per layer and token the Q, K, V, O projections (4 d^2) and the feed-forward (2 d f),
        per layer and text the attention scores and mix (2 w^2 d); then the heads."""
        d, f = self.hidden, self.ffn
        per_layer = rows * width * (4 * d * d + 2 * d * f) + rows * 2 * width * width * d
        return 2.0 * (self.layers * per_layer + rows * d * self.head_outputs)


@dataclass(frozen=True)
class Batch:
    """One padded batch: int64 ids and mask (rows, width), and the rows' real token counts."""

    ids: np.ndarray
    mask: np.ndarray
    lengths: list[int]


def encoder_shape(classifier: Classifier) -> Shape:
    """The served encoder's dimensions, read from its config."""
    config = classifier.encoder.config
    outputs = sum(len(classifier.labels(task)) for task in classifier.tasks)
    return Shape(config.num_hidden_layers, config.hidden_size, config.intermediate_size, outputs)


def batches(ids: Sequence[list[int]], size: int, pad_id: int) -> list[Batch]:
    """`ids` cut into consecutive batches of `size` rows (arrival order), each padded."""
    found = []
    for start in range(0, len(ids) - size + 1, size):
        rows = list(ids[start : start + size])
        input_ids, mask = pad(rows, pad_id)
        found.append(Batch(input_ids, mask, [len(row) for row in rows]))
    return found


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_all(forward: OnnxForward, found: list[Batch], tasks: list[str]) -> None:
    """Every batch through the forward, once."""
    for batch in found:
        forward.logits(batch.ids, batch.mask, tasks)


def size_line(
    size: int, found: list[Batch], runs: list[tuple[float, float]], *, shape: Shape, gemm: float
) -> dict[str, object]:
    """One size's medians: texts/s, CPU ms/text, GFLOP/s on real and on computed tokens, and
    the computed FLOPs per CPU second as a share of the MatMul's (`gemm`, GFLOP per CPU second:
    a share that a busy shared machine moves less than wall-clock rates)."""
    texts = size * len(found)
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    useful = sum(shape.flops(1, n) for batch in found for n in batch.lengths)
    computed = sum(shape.flops(*batch.ids.shape) for batch in found)
    real = sum(sum(batch.lengths) for batch in found)
    return {
        "bench": "forward_limit",
        "batch_size": size,
        "texts": texts,
        "texts_per_s": round(texts / wall, 1),
        "cpu_ms_per_text": round(cpu * 1000 / texts, 3),
        "wall_ms_per_batch": round(wall * 1000 / len(found), 3),
        "mean_tokens": round(real / texts, 2),
        "padded_share": round(1 - real / sum(b.ids.size for b in found), 4),
        "gflops_useful": round(useful / wall / 1e9, 2),
        "gflops_computed": round(computed / wall / 1e9, 2),
        "mflop_per_text": round(useful / texts / 1e6, 2),
        "gflop_per_cpu_s_computed": round(computed / cpu / 1e9, 2),
        "share_of_matmul_rate": round(computed / cpu / 1e9 / gemm, 3),
        "repeats": len(runs),
        "runs_wall_s": [round(run[0], 4) for run in runs],
    }


def bucketed_lines(
    classifier: Classifier,
    ids: list[list[int]],
    *,
    group: int,
    cuts: Sequence[tuple[int, float, float]],
    repeats: int,
) -> list[dict[str, object]]:
    """The served path (`Classifier.probabilities`, which sorts a batch by length and cuts it
    into buckets) on batches of `group` texts, per cut (most rows a bucket, most padding
    share, least padded tokens a cut saves): medians of interleaved runs."""
    groups = [ids[i : i + group] for i in range(0, len(ids) - group + 1, group)]
    texts = group * len(groups)

    def run(rows: int, padding: float, tokens: float) -> tuple[float, float, float, int]:
        padded = real = forwards = 0
        classifier.max_padding, classifier.forward_tokens = padding, tokens
        wall, cpu = time.perf_counter(), time.process_time()
        for found in groups:
            classifier.probabilities(found, classifier.tasks, rows)
            padded += sum(b.size * b.padded_length for b in classifier.last_batches)
            real += sum(b.real_tokens for b in classifier.last_batches)
            forwards += len(classifier.last_batches)
        return time.perf_counter() - wall, time.process_time() - cpu, 1 - real / padded, forwards

    run(group, 1.0, 0.0)
    runs: dict[tuple[int, float, float], list[tuple[float, float, float, int]]] = {
        cut: [] for cut in cuts
    }
    for _ in range(repeats):
        for cut in cuts:
            runs[cut].append(run(*cut))
    classifier.max_padding, classifier.forward_tokens = MAX_PADDING, FORWARD_TOKENS
    return [
        {
            "bench": "forward_bucketed",
            "batch_size": group,
            "bucket_rows": rows,
            "max_padding": padding,
            "forward_tokens": tokens,
            "texts": texts,
            "forwards_per_batch": round(found[0][3] / len(groups), 3),
            "texts_per_s": round(texts / statistics.median(r[0] for r in found), 1),
            "cpu_ms_per_text": round(statistics.median(r[1] for r in found) * 1000 / texts, 3),
            "padded_share": round(found[0][2], 4),
            "repeats": repeats,
        }
        for (rows, padding, tokens), found in runs.items()
    ]


def matmul_rate(
    shape: Shape, *, rows: int, threads: int | None, calls: int = 20, repeats: int = 7
) -> tuple[float, float]:
    """Measured (GFLOP per wall second, GFLOP per CPU second) of ONNX Runtime's MatMul
    (rows, hidden) x (hidden, ffn), fp32: the encoder's largest product, on the same CPU
    threads as the served session (medians of `repeats` runs of `calls` calls)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    weight = np.random.default_rng(0).standard_normal((shape.hidden, shape.ffn), np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", shape.hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", shape.ffn])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model.SerializeToString(), options)
    x = np.random.default_rng(1).standard_normal((rows, shape.hidden), np.float32)
    session.run(None, {"x": x})
    feed = {"x": x}
    runs = [timed(lambda: [session.run(None, feed) for _ in range(calls)]) for _ in range(repeats)]
    flop = 2.0 * rows * shape.hidden * shape.ffn * calls
    wall, cpu = (statistics.median(run[k] for run in runs) for k in (0, 1))
    return flop / wall / 1e9, flop / cpu / 1e9


def served_forward(model: Path, cache: Path) -> tuple[Classifier, OnnxForward]:
    """The model and its ONNX session, opened as the service opens them (fp32)."""
    classifier = Classifier(model, device="cpu")
    forward = cached_session(
        classifier, version=adapter_version(model), cache_dir=cache, precision="fp32"
    )
    return classifier, forward


def limit_lines(
    classifier: Classifier,
    forward: OnnxForward,
    ids: list[list[int]],
    *,
    sizes: Sequence[int],
    repeats: int,
) -> list[dict[str, object]]:
    """One line per batch size (texts in arrival order, padded to their longest), then the
    MatMul line."""
    shape = encoder_shape(classifier)
    pad_id = classifier.tokenizer.pad_token_id or 0
    by_size = {size: batches(ids, size, pad_id) for size in sizes}
    runs: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
    for found in by_size.values():  # warm-up: first calls at a shape allocate
        run_all(forward, found[:4], classifier.tasks)
    for _ in range(repeats):
        for size, found in by_size.items():
            runs[size].append(timed(partial(run_all, forward, found, classifier.tasks)))
    rows = int(max(sizes) * statistics.mean(len(x) for x in ids))
    gemm, per_cpu = matmul_rate(shape, rows=rows, threads=forward.threads)
    lines = [size_line(s, by_size[s], runs[s], shape=shape, gemm=per_cpu) for s in sizes]
    matmul = {"rows": rows, "gflops": round(gemm, 2), "gflop_per_cpu_s": round(per_cpu, 2)}
    return [*lines, {"bench": "forward_limit_matmul", **matmul}]


def measure(args: argparse.Namespace) -> list[dict[str, object]]:
    """Every size's line, the MatMul line, then the served bucketing's lines."""
    classifier, forward = served_forward(args.model, args.cache)
    ids = tokenize(classifier.tokenizer, banking_texts(args.texts), classifier.meta.max_length).ids
    lines = (
        []
        if args.bucketed_only
        else limit_lines(classifier, forward, ids, sizes=args.sizes, repeats=args.repeats)
    )
    classifier.use(forward)
    groups = args.groups or [max(args.sizes)]
    for group in groups:
        buckets = sorted({min(rows, group) for rows in args.buckets})
        cuts = [(rows, 1.0, 0.0) for rows in buckets]
        cuts += [
            (rows, pad, tokens)
            for rows in buckets
            for pad in args.paddings
            for tokens in args.forward_tokens
            if rows > 1
        ]
        lines += bucketed_lines(classifier, ids, group=group, cuts=cuts, repeats=args.repeats)
    return lines


def forward_parser(doc: str, *, repeats: int) -> argparse.ArgumentParser:
    """The options every forward benchmark takes: --model, --cache, --texts, --repeats, --out."""
    from models.service.engine import cache_dir
    from models.service.settings import ServiceSettings

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_dir())
    parser.add_argument("--cache", type=Path, default=cache_dir(ServiceSettings()))
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--out", type=Path)
    return parser


def main() -> None:
    """Measure and print/append one line per batch size and one for the MatMul rate."""
    parser = forward_parser(__doc__, repeats=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--buckets", type=int, nargs="+", default=list(BUCKETS))
    parser.add_argument("--paddings", type=float, nargs="*", default=[0.1, 0.2])
    parser.add_argument("--forward-tokens", type=float, nargs="+", default=[FORWARD_TOKENS])
    parser.add_argument("--groups", type=int, nargs="*", help="bucketed batch sizes")
    parser.add_argument("--bucketed-only", action="store_true")
    args = parser.parse_args()
    started_on = machine()
    write_lines(args.out, measure(args), started_on)


if __name__ == "__main__":
    main()
