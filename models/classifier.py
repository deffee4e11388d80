"""Classifier: one base encoder plus one LoRA adapter and head per task, with `unknown`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import PeftModel

from models.batching import collate, inference_batches
from models.encoder import load_encoder, load_tokenizer, resolve_base, resolve_device, tokenize
from models.errors import ModelError
from models.metrics import UNKNOWN
from models.network import Head, embed
from models.paths import DEFAULT_TASKS, default_adapter_dir
from models.store import AdapterMeta, load_head, load_meta

MODES = ("merged", "shared")


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
    """One forward batch: task, rows, padded width, real and padding tokens."""

    task: str
    size: int
    padded_length: int
    real_tokens: int

    @property
    def padding_tokens(self) -> int:
        """Tokens computed only as padding."""
        return self.size * self.padded_length - self.real_tokens


@dataclass
class _Task:
    """A loaded task: meta, head and the encoder that serves it."""

    meta: AdapterMeta
    head: Head
    encoder: Any = field(repr=False)


class Classifier:
    """Loads a base encoder and LoRA adapters (one per task) and predicts labels."""

    def __init__(
        self,
        adapters: Mapping[str, str | Path] | None = None,
        device: str = "auto",
        mode: str = "merged",
    ) -> None:
        """Load adapters {task: dir} (default: the shipped ones) in "merged" or "shared" mode."""
        if mode not in MODES:
            raise ModelError(f"mode must be one of {MODES}, got {mode!r}")
        adapters = adapters or {t: default_adapter_dir(t) for t in DEFAULT_TASKS}
        self.device = resolve_device(device)
        self.mode = mode
        self.last_batches: list[BucketStats] = []
        metas = {t: _checked_meta(t, Path(d)) for t, d in adapters.items()}
        self._tokenizers = {m.base_model: load_tokenizer(m.base_model) for m in metas.values()}
        self._shared: Any = None
        self._tasks = {t: self._load_task(t, Path(adapters[t]), metas[t]) for t in metas}

    def _load_task(self, task: str, adapter_dir: Path, meta: AdapterMeta) -> _Task:
        """Load one adapter: merged into its own base copy, or added to the shared base."""
        head = load_head(adapter_dir, meta, self.device)
        if self.mode == "merged":
            peft = PeftModel.from_pretrained(load_encoder(meta.base_model), str(adapter_dir))
            encoder = peft.merge_and_unload().to(self.device).eval()
            return _Task(meta, head, encoder)
        if self._shared is None:
            base = load_encoder(meta.base_model)
            self._shared = PeftModel.from_pretrained(base, str(adapter_dir), adapter_name=task)
            self._shared.to(self.device).eval()
            self._shared_base = meta.base_model
        elif resolve_base(meta.base_model) != resolve_base(self._shared_base):
            raise ModelError(f"{adapter_dir}: base {meta.base_model} differs from the shared base")
        else:
            self._shared.load_adapter(str(adapter_dir), adapter_name=task)
            self._shared.to(self.device).eval()
        return _Task(meta, head, self._shared)

    @property
    def tasks(self) -> list[str]:
        """Loaded task names."""
        return list(self._tasks)

    def labels(self, task: str) -> list[str]:
        """The label set of a task."""
        return list(self._task(task).meta.labels)

    def threshold(self, task: str) -> float:
        """The calibrated `unknown` threshold of a task."""
        return self._task(task).meta.threshold

    def _task(self, task: str) -> _Task:
        """Look a task up, with a clear error."""
        if task not in self._tasks:
            raise ModelError(f"task {task!r} not loaded (loaded: {self.tasks})")
        return self._tasks[task]

    def predict(
        self,
        texts: Sequence[str],
        tasks: Sequence[str] | None = None,
        top_k: int = 3,
        thresholds: Mapping[str, float] | None = None,
        restrict: Mapping[str, Sequence[str]] | None = None,
        batch_size: int = 64,
    ) -> list[TextPrediction]:
        """Predict every task for every text; below a task's threshold the label is `unknown`."""
        tasks = list(tasks) if tasks is not None else self.tasks
        texts = list(texts)
        self.last_batches = []
        results: list[dict[str, TaskPrediction]] = [{} for _ in texts]
        n_tokens: list[int] = [0] * len(texts)
        for task in tasks:
            t = self._task(task)
            enc = tokenize(self._tokenizers[t.meta.base_model], texts, t.meta.max_length)
            n_tokens = enc.n_tokens
            probs = self._probs(task, t, enc.ids, batch_size)
            labels = t.meta.labels
            if restrict and task in restrict:
                probs, labels = _restrict(probs, labels, restrict[task])
            limit = (thresholds or {}).get(task, t.meta.threshold)
            for i, row in enumerate(probs):
                results[i][task] = _answer(row, labels, limit, top_k, enc.truncated[i])
        return [
            TextPrediction(
                text, n_tokens[i], any(p.truncated for p in results[i].values()), results[i]
            )
            for i, text in enumerate(texts)
        ]

    @torch.inference_mode()
    def _probs(self, task: str, t: _Task, ids: list[list[int]], batch_size: int) -> np.ndarray:
        """Softmax probabilities for token ids, batched by length; records bucket stats."""
        if self.mode == "shared":
            t.encoder.set_adapter(task)
        pad_id = self._tokenizers[t.meta.base_model].pad_token_id or 0
        out = np.zeros((len(ids), len(t.meta.labels)), dtype=np.float32)
        for batch in inference_batches([len(x) for x in ids], batch_size):
            input_ids, mask = collate([ids[i] for i in batch], pad_id, self.device)
            logits = t.head(embed(t.encoder, input_ids, mask, t.meta.pooling))
            out[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
            self.last_batches.append(
                BucketStats(task, len(batch), int(input_ids.shape[1]), int(mask.sum()))
            )
        return out


def _checked_meta(task: str, adapter_dir: Path) -> AdapterMeta:
    """Load an adapter's meta and check it is for `task`."""
    if not adapter_dir.is_dir():
        raise ModelError(f"{adapter_dir}: adapter directory not found for task {task!r}")
    meta = load_meta(adapter_dir)
    if meta.task != task:
        raise ModelError(f"{adapter_dir}: adapter is for task {meta.task!r}, not {task!r}")
    return meta


def _restrict(
    probs: np.ndarray, labels: Sequence[str], allowed: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """Keep only the columns of `allowed` labels and renormalise each row."""
    missing = sorted(set(allowed) - set(labels))
    if missing:
        raise ModelError(f"labels {missing} are not known to the model (knows {list(labels)})")
    keep = [k for k, lab in enumerate(labels) if lab in set(allowed)]
    sub = probs[:, keep]
    return sub / sub.sum(1, keepdims=True), [labels[k] for k in keep]


def _answer(
    row: np.ndarray, labels: Sequence[str], threshold: float, top_k: int, truncated: bool
) -> TaskPrediction:
    """Turn one probability row into a TaskPrediction."""
    order = np.argsort(-row)[: max(1, top_k)]
    top = [(labels[k], round(float(row[k]), 6)) for k in order]
    best = int(order[0])
    score = float(row[best])
    label = labels[best] if score >= threshold else UNKNOWN
    return TaskPrediction(label, round(score, 6), top, truncated)
