"""The support model on ONNX Runtime: export the merged encoder with every head once per model
version, check it against torch, cache it, and run it.

A cache entry is a folder named by the weights' version holding ``fp32.onnx`` (and
``int8.onnx`` after dynamic quantisation), ``packed.onnx`` (the fp32 graph taking padding-free
packed batches, models/packing.py) and ``export.json`` (versions and the measured max abs logit
difference against torch). An entry is written to a temporary folder and renamed into
place, so a half-written export is never loaded and nothing outside the cache is ever written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from models.errors import ModelError
from models.packing import PACK_TOKENS, packed_feed

if TYPE_CHECKING:
    from models.classifier import Classifier

OnnxPrecision = Literal["fp32", "int8"]
MANIFEST = "export.json"
PACKED = "packed.onnx"
# fp32 ONNX and torch differ by float reassociation only (measured ~1e-6); more is a broken export.
FP32_TOLERANCE = 1e-3
# Probes of the export check: lengths and padding patterns the served traffic has.
PROBES = [
    "my card hasn't arrived yet",
    "hi",
    "Why was I charged a fee for withdrawing cash at the ATM abroad last weekend?",
    "I want to change my PIN, how do I do that in the app? It keeps asking me for the old one.",
]


@dataclass(frozen=True)
class ExportCheck:
    """What an export was checked with: versions and the max abs logit difference per file."""

    version: str
    torch: str
    onnxruntime: str
    max_abs_diff: dict[str, float]


def cached_session(
    classifier: Classifier,
    *,
    version: str,
    cache_dir: Path,
    precision: OnnxPrecision,
    threads: int | None = None,
    spinning: bool = True,
    packed: bool = False,
) -> OnnxForward:
    """An ONNX Runtime forward of `classifier`, exported (and checked) on first use of a version,
    on `threads` intra-op threads (None: the CPUs this process may use); `packed` (fp32 only):
    the graph that takes padding-free packed batches, added to an entry made without it.

    Raises ModelError when the export's logits differ from torch's by more than FP32_TOLERANCE,
    or when `packed` is asked of int8 or of an encoder that cannot take position ids.
    """
    if classifier.device.type != "cpu":
        raise ModelError("the ONNX engine runs on the CPU; set service.device = cpu")
    entry = cache_dir / version
    if not (entry / MANIFEST).is_file():
        _export_entry(classifier, version=version, entry=entry)
    if packed:
        if precision != "fp32":
            raise ModelError("packed batches run on the fp32 export: set service.precision = fp32")
        if not (entry / PACKED).is_file():
            _add_packed(classifier, entry)
        return PackedOnnxForward(
            entry / PACKED,
            tasks=classifier.tasks,
            pooling=classifier.meta.pooling,
            pad_id=classifier.pad_id,
            threads=threads,
            spinning=spinning,
        )
    path = entry / f"{precision}.onnx"
    if not path.is_file():
        raise ModelError(f"{entry}: the cached export has no {path.name}; delete the folder")
    return OnnxForward(path, tasks=classifier.tasks, threads=threads, spinning=spinning)


def read_check(cache_dir: Path, version: str) -> ExportCheck:
    """The check stored with a cached export."""
    return ExportCheck(**json.loads((cache_dir / version / MANIFEST).read_text()))


def _export_entry(classifier: Classifier, *, version: str, entry: Path) -> None:
    """Export, quantise and check into a temporary folder, then rename it into place."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=entry.parent))
    try:
        export_onnx(classifier, staging / "fp32.onnx")
        quantize_int8(staging / "fp32.onnx", staging / "int8.onnx")
        diffs = {name: logit_difference(classifier, staging / name) for name in ("fp32.onnx",)}
        if diffs["fp32.onnx"] > FP32_TOLERANCE:
            raise ModelError(
                f"ONNX export of {version} differs from torch by {diffs['fp32.onnx']:.2g} "
                f"(limit {FP32_TOLERANCE:g}); set service.engine = torch"
            )
        diffs["int8.onnx"] = logit_difference(classifier, staging / "int8.onnx")
        try:
            diffs[PACKED] = _export_packed_checked(classifier, staging / PACKED)
        except ModelError:  # the padded graphs still serve; asking for packed says why
            (staging / PACKED).unlink(missing_ok=True)
        _write_manifest(staging, version=version, diffs=diffs)
        os.replace(staging, entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _add_packed(classifier: Classifier, entry: Path) -> None:
    """Export and check the packed graph into an entry made before it had one (renamed into
    place, so a half-written file is never loaded)."""
    staging = Path(tempfile.mkdtemp(prefix=".packed-", dir=entry))
    try:
        diff = _export_packed_checked(classifier, staging / PACKED)
        os.replace(staging / PACKED, entry / PACKED)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    check = read_check(entry.parent, entry.name)
    _write_manifest(entry, version=check.version, diffs={**check.max_abs_diff, PACKED: diff})


def _export_packed_checked(classifier: Classifier, path: Path) -> float:
    """Export the packed graph to `path` and return its max abs logit difference against torch;
    ModelError if it passes FP32_TOLERANCE or the encoder cannot be exported packed."""
    try:
        export_packed_onnx(classifier, path)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ModelError(f"the encoder cannot be exported packed ({error})") from error
    diff = logit_difference(classifier, path)
    if diff > FP32_TOLERANCE:
        raise ModelError(
            f"the packed ONNX export differs from torch by {diff:.2g} (limit {FP32_TOLERANCE:g})"
        )
    return diff


def _write_manifest(folder: Path, *, version: str, diffs: dict[str, float]) -> None:
    import onnxruntime
    import torch

    check = ExportCheck(version, torch.__version__, onnxruntime.__version__, diffs)
    staged = folder / f".{MANIFEST}.tmp"
    staged.write_text(json.dumps(asdict(check), indent=1) + "\n")
    os.replace(staged, folder / MANIFEST)


def export_onnx(classifier: Classifier, path: Path) -> None:
    """Write the merged encoder and every head as one ONNX graph: (input_ids, attention_mask),
    both int64 (batch, tokens), to one logits output per task, float32 (batch, labels)."""
    import torch

    from models.network import task_logits

    class Merged(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = classifier.encoder
            self.heads = torch.nn.ModuleDict(classifier.heads)

        def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            logits = task_logits(
                self.encoder, classifier.heads, input_ids, mask, classifier.meta.pooling
            )
            return tuple(logits[task] for task in classifier.tasks)

    ids, mask = _probe_batch(classifier)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes.update({task: {0: "batch"} for task in classifier.tasks})
    inputs = {"input_ids": ids, "attention_mask": mask}
    _trace(Merged(), inputs, path, outputs=classifier.tasks, axes=axes)


def export_packed_onnx(classifier: Classifier, path: Path) -> None:
    """Write the merged encoder and every head as one ONNX graph over packed batches
    (models/packing.py): input_ids and position_ids int64 (packs, tokens), attention_bias
    float32 (packs, 1, tokens, tokens), pool float32 (texts, packs * tokens), to one logits
    output per task, float32 (texts, labels). TypeError if the encoder takes no position ids."""
    import torch

    class Packed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = classifier.encoder
            self.heads = torch.nn.ModuleDict(classifier.heads)

        def forward(
            self,
            input_ids: torch.Tensor,
            position_ids: torch.Tensor,
            attention_bias: torch.Tensor,
            pool: torch.Tensor,
        ) -> tuple[torch.Tensor, ...]:
            hidden = self.encoder(
                input_ids=input_ids, position_ids=position_ids, attention_mask=attention_bias
            ).last_hidden_state
            features = pool @ hidden.reshape(-1, hidden.shape[-1])
            return tuple(self.heads[task](features) for task in classifier.tasks)

    ids = _probe_ids(classifier)
    feed = packed_feed(ids, pooling=classifier.meta.pooling, pad_id=classifier.pad_id, limit=24)
    inputs = feed.as_inputs()
    axes: dict[str, dict[int, str]] = {
        "input_ids": {0: "packs", 1: "tokens"},
        "position_ids": {0: "packs", 1: "tokens"},
        "attention_bias": {0: "packs", 2: "tokens", 3: "tokens"},
        "pool": {0: "texts", 1: "flat"},
    }
    axes.update({task: {0: "texts"} for task in classifier.tasks})
    _trace(Packed(), inputs, path, outputs=classifier.tasks, axes=axes)


def _trace(
    module: Any,
    inputs: dict[str, np.ndarray],
    path: Path,
    *,
    outputs: list[str],
    axes: dict[str, dict[int, str]],
) -> None:
    """Trace `module` (a torch module) on `inputs` into an ONNX file at opset 17."""
    import torch

    # The tracer warns of branches on shapes; the probe check after export proves the graph.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval().to("cpu"),
            tuple(torch.from_numpy(value) for value in inputs.values()),
            str(path),
            input_names=list(inputs),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights (activations quantised per batch at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def logit_difference(classifier: Classifier, path: Path) -> float:
    """Max abs difference between the ONNX file's logits and torch's on the probe batch."""
    import torch

    from models.network import task_logits

    ids, mask = _probe_batch(classifier)
    with torch.inference_mode():
        reference = task_logits(
            classifier.encoder,
            classifier.heads,
            torch.from_numpy(ids),
            torch.from_numpy(mask),
            classifier.meta.pooling,
        )
    forward = (
        PackedOnnxForward(
            path, tasks=classifier.tasks, pooling=classifier.meta.pooling, pad_id=classifier.pad_id
        )
        if path.name == PACKED
        else OnnxForward(path, tasks=classifier.tasks)
    )
    got = forward.logits(ids, mask, classifier.tasks)
    return max(float(np.abs(got[t] - reference[t].float().numpy()).max()) for t in got)


def _probe_batch(classifier: Classifier) -> tuple[np.ndarray, np.ndarray]:
    return pad(_probe_ids(classifier), classifier.tokenizer.pad_token_id or 0)


def _probe_ids(classifier: Classifier) -> list[list[int]]:
    from models.encoder import tokenize

    return tokenize(classifier.tokenizer, PROBES, classifier.meta.max_length).ids


def pad(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists into int64 (input_ids, attention_mask) arrays (batch, width)."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return input_ids, mask


class OnnxForward:
    """One ONNX Runtime session of an exported support model, on the CPU."""

    def __init__(
        self,
        path: Path,
        *,
        tasks: Sequence[str],
        threads: int | None = None,
        spinning: bool = True,
    ) -> None:
        """Open `path` on `threads` intra-op threads (None: the CPUs this process may use).

        `spinning`: the threads spin between the operators of a run and stop as soon as it
        returns (`session.force_spinning_stop`), so they never hold a core between batches.
        Side by side (benchmarks/results/peers.jsonl, the run of 2026-12-01 05:56) costbot
        served 328 vs 242 req/s at c=1, 590 vs 552 at c=8 and 728 vs 685 at c=64 with them
        spinning rather than sleeping between operators.
        """
        self.path = path
        self.tasks = list(tasks)
        self.threads = threads or len(os.sched_getaffinity(0))
        self.spinning = spinning
        self._session = _session(path, self.threads, spinning=spinning)

    def logits(
        self, input_ids: np.ndarray, mask: np.ndarray, tasks: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """{task: logits float32 (batch, labels)} for int64 (batch, tokens) ids and mask."""
        feed = {"input_ids": input_ids, "attention_mask": mask}
        return dict(zip(tasks, self._session.run(list(tasks), feed), strict=True))


def _session(path: Path, threads: int, *, spinning: bool) -> Any:
    """An ONNX Runtime CPU session of `path` with the served options (`session_options`)."""
    import onnxruntime as ort

    options = session_options(threads, spinning=spinning)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def session_options(threads: int, *, spinning: bool) -> Any:
    """The served session options: `threads` intra-op threads, one inter-op thread, every graph
    optimisation, threads spinning within a run (when `spinning`) and never past it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", str(int(spinning)))
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


class PackedOnnxForward(OnnxForward):
    """One ONNX Runtime session of the packed export (`export_packed_onnx`), on the CPU."""

    def __init__(
        self,
        path: Path,
        *,
        tasks: Sequence[str],
        pooling: str,
        pad_id: int,
        threads: int | None = None,
        spinning: bool = True,
        pack_tokens: int | None = None,
    ) -> None:
        """Open `path` as OnnxForward does; `pooling` and `pad_id` shape the packed feed,
        `pack_tokens` its packs (None: models.packing.PACK_TOKENS)."""
        super().__init__(path, tasks=tasks, threads=threads, spinning=spinning)
        self.pooling = pooling
        self.pad_id = pad_id
        self.pack_tokens = pack_tokens or PACK_TOKENS

    def packed_logits(
        self, rows: Sequence[Sequence[int]], tasks: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """{task: logits float32 (len(rows), labels)} for each text's token ids, unpadded."""
        feed = packed_feed(rows, pooling=self.pooling, pad_id=self.pad_id, limit=self.pack_tokens)
        return dict(zip(tasks, self._session.run(list(tasks), feed.as_inputs()), strict=True))

    def logits(
        self, input_ids: np.ndarray, mask: np.ndarray, tasks: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """As OnnxForward.logits: padded int64 (batch, tokens) ids and mask, packed here."""
        rows = [row[: int(n)].tolist() for row, n in zip(input_ids, mask.sum(axis=1), strict=True)]
        return self.packed_logits(rows, tasks)
