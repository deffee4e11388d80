"""Classifier: the support model (one LoRA-merged encoder, one head per task), one forward a batch.

`predict(texts, tasks)` runs the encoder once per length bucket and every requested head on the
same pooled features. Intent answers `unknown` below the model's threshold or top-2 margin;
sentiment is a distribution over its labels, its label the argmax (never `unknown`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from peft import PeftModel

from models.batching import collate, fitted_batches
from models.encoder import (
    Encoded,
    fit_window,
    load_encoder,
    load_tokenizer,
    normalize,
    resolve_device,
    tokenize,
)
from models.errors import ModelError
from models.metrics import UNKNOWN
from models.network import task_logits
from models.onnx_engine import pad
from models.paths import default_model_dir
from models.store import ModelMeta, TaskMeta, load_heads, load_meta

# A bucket is cut where its padding would pass this share of the tokens it computes (texts
# sorted by length first). 0.1 took 6% less CPU per text than cutting by rows alone on 64
# BANKING77 texts in 16-row buckets (benchmarks/results/forward_limit.jsonl, forward_bucketed).
MAX_PADDING = 0.1
# ...and only where the cut saves more than this many padded tokens (a forward's fixed cost,
# in tokens): 16 took 4-16% less CPU per text than cutting at any saving (two runs), on batches
# of 2, 4, 8, 16 and 64 BANKING77 texts in 16-row buckets (forward_limit.jsonl, forward_tokens).
FORWARD_TOKENS = 16.0


@dataclass
class TaskPrediction:
    """One task's answer for one text: label (or unknown), its score and the top-k labels."""

    label: str
    score: float
    top: list[tuple[str, float]]
    truncated: bool


@dataclass
class TextPrediction:
    """All task answers for one text, with its token count (for cost attribution)."""

    text: str
    n_tokens: int
    truncated: bool
    tasks: dict[str, TaskPrediction]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@dataclass
class BucketStats:
    """One forward batch: rows, padded width and real tokens."""

    size: int
    padded_length: int
    real_tokens: int

    @property
    def padding_tokens(self) -> int:
        """Tokens computed only as padding."""
        return self.size * self.padded_length - self.real_tokens


class Forward(Protocol):
    """Another runtime of the same network (e.g. ONNX Runtime): logits from padded token ids."""

    def logits(
        self, input_ids: np.ndarray, mask: np.ndarray, tasks: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """{task: logits (batch, labels)} for int64 (batch, tokens) ids and attention mask."""
        ...


@runtime_checkable
class PackedForward(Forward, Protocol):
    """A runtime that also takes texts unpadded, packed into shared sequences (see packing)."""

    def packed_logits(
        self, rows: Sequence[Sequence[int]], tasks: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """{task: logits (len(rows), labels)} for each text's token ids."""
        ...


@dataclass(frozen=True)
class Rule:
    """How scores become a served label: threshold and top-2 margin (0 = off)."""

    threshold: float = 0.0
    margin: float = 0.0


class Classifier:
    """Loads a support model directory and predicts every task with one encoder forward."""

    def __init__(self, model_dir: str | Path | None = None, device: str = "auto") -> None:
        """Load the model at `model_dir` (default: the shipped one); ModelError if it is not one."""
        path = Path(model_dir) if model_dir is not None else default_model_dir()
        if not path.is_dir():
            raise ModelError(f"{path}: model directory not found")
        self.path = path
        self.meta: ModelMeta = load_meta(path)
        self.device = resolve_device(device)
        self.last_batches: list[BucketStats] = []
        self.max_padding = MAX_PADDING
        self.forward_tokens = FORWARD_TOKENS
        self.tokenizer = load_tokenizer(self.meta.base_model)
        self.pad_id: int = self.tokenizer.pad_token_id or 0
        peft = PeftModel.from_pretrained(load_encoder(self.meta.base_model), str(path))
        self.encoder = peft.merge_and_unload().to(self.device).eval()
        self.heads = load_heads(path, self.meta, self.device)
        self.forward: Forward | None = None  # None: the torch encoder above

    def use(self, forward: Forward | None) -> None:
        """Answer with `forward` (another runtime of these weights); None: with torch again."""
        self.forward = forward

    @property
    def tasks(self) -> list[str]:
        """Task names, e.g. ["intent", "sentiment"]."""
        return list(self.meta.tasks)

    def task_meta(self, task: str) -> TaskMeta:
        """A task's labels and rule; ModelError for an unknown task."""
        if task not in self.meta.tasks:
            raise ModelError(f"task {task!r} not in the model (tasks: {self.tasks})")
        return self.meta.tasks[task]

    def labels(self, task: str) -> list[str]:
        """The label set of a task."""
        return list(self.task_meta(task).labels)

    def rule(self, task: str) -> Rule:
        """The model's own `unknown` rule of a task."""
        spec = self.task_meta(task)
        return Rule(spec.threshold, spec.margin)

    def predict(
        self,
        texts: Sequence[str],
        tasks: Sequence[str] | None = None,
        top_k: int = 3,
        rules: Mapping[str, Rule] | None = None,
        batch_size: int = 64,
        full_ids: Sequence[Sequence[int]] | None = None,
    ) -> list[TextPrediction]:
        """Predict every requested task for every text, in input order. `full_ids`: each text's
        untruncated token ids (normalized, special tokens included) when the caller already
        has them, so only texts past the window are tokenized again."""
        tasks = list(tasks) if tasks is not None else self.tasks
        chosen = {t: (rules or {}).get(t, self.rule(t)) for t in tasks}
        names = {t: self.task_meta(t).labels for t in tasks}
        enc = self._encode(list(texts), full_ids)
        probs = self.probabilities(enc.ids, tasks, batch_size)
        return [
            TextPrediction(
                text,
                enc.n_tokens[i],
                enc.truncated[i],
                {
                    t: served_answer(probs[t][i], names[t], chosen[t], top_k, enc.truncated[i])
                    for t in tasks
                },
            )
            for i, text in enumerate(texts)
        ]

    def _encode(self, texts: list[str], full_ids: Sequence[Sequence[int]] | None) -> Encoded:
        window = self.meta.max_length
        if full_ids is None:
            return tokenize(self.tokenizer, texts, window)
        if any(len(ids) > window for ids in full_ids):
            texts = [normalize(t) for t in texts]
        return fit_window(self.tokenizer, texts, [list(ids) for ids in full_ids], window)

    def probabilities(
        self, ids: list[list[int]], tasks: Sequence[str], batch_size: int = 64
    ) -> dict[str, np.ndarray]:
        """{task: softmax (n, labels)} for token ids: one packed forward of every text when the
        runtime takes packed batches (PackedForward), else one forward per length bucket (rows
        sorted by length, at most `batch_size` a bucket, cut where padding passes `max_padding`
        and the cut saves more than `forward_tokens` padded tokens)."""
        if isinstance(self.forward, PackedForward):
            return self._packed_probabilities(self.forward, ids, tasks)
        heads = {t: self.heads[t] for t in tasks}
        out = {
            t: np.zeros((len(ids), len(self.task_meta(t).labels)), dtype=np.float32) for t in tasks
        }
        pad_id = self.pad_id
        self.last_batches = []
        lengths = [len(x) for x in ids]
        cut = fitted_batches(lengths, batch_size, self.max_padding, self.forward_tokens)
        for batch in cut:
            rows = [ids[i] for i in batch]
            if self.forward is not None:
                input_ids, mask = pad(rows, pad_id)
                for task, value in self.forward.logits(input_ids, mask, tasks).items():
                    out[task][batch] = _softmax(value)
            else:
                with torch.inference_mode():
                    tensors = collate(rows, pad_id, self.device)
                    logits = task_logits(self.encoder, heads, *tensors, self.meta.pooling)
                    for task, tensor in logits.items():
                        out[task][batch] = torch.softmax(tensor.float(), dim=-1).cpu().numpy()
            width = max(len(row) for row in rows)
            self.last_batches.append(BucketStats(len(batch), width, sum(len(r) for r in rows)))
        return out

    def _packed_probabilities(
        self, forward: PackedForward, ids: list[list[int]], tasks: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """{task: softmax (n, labels)} from one packed forward of every text (no padding)."""
        logits = forward.packed_logits(ids, tasks)
        # one forward of every text; nothing is padded but the tail of each pack
        tokens = sum(len(x) for x in ids)
        self.last_batches = [BucketStats(len(ids), max(len(x) for x in ids), tokens)]
        return {task: _softmax(value) for task, value in logits.items()}


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def served_answer(
    row: np.ndarray, labels: Sequence[str], rule: Rule, top_k: int, truncated: bool
) -> TaskPrediction:
    """Turn one probability row into a TaskPrediction under `rule`."""
    order = np.argsort(-row)[: max(2, top_k)]
    top = [(labels[k], round(float(row[k]), 6)) for k in order]
    score = float(row[order[0]])
    gap = score - float(row[order[1]]) if len(order) > 1 else score
    answered = score >= rule.threshold and gap >= rule.margin
    label = labels[int(order[0])] if answered else UNKNOWN
    return TaskPrediction(label, round(score, 6), top[: max(1, top_k)], truncated)
