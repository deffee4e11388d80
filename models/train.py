"""Seeded LoRA training of one task: `train(...) -> TrainingResult`."""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from tqdm import tqdm

from models.batching import collate, training_batches
from models.calibration import calibrate_threshold
from models.data import Row, load_many
from models.encoder import DEFAULT_BASE, load_encoder, load_tokenizer, resolve_device, tokenize
from models.errors import DataError
from models.inference import embed_all, predict_proba
from models.metrics import UNKNOWN, classification_metrics
from models.network import Head, embed, hidden_size
from models.recipe import Recipe
from models.split import stratified_split
from models.store import AdapterMeta, save_adapter

THRESHOLD_RULE = (
    "max-softmax score threshold = the (1 - keep_fraction) quantile of the scores of correct "
    "held-out predictions; below it the answer is 'unknown'"
)


@dataclass
class EpochStats:
    """Figures of one finished epoch, passed to the callback."""

    epoch: int
    train_loss: float
    held_out_accuracy: float
    seconds: float


@dataclass
class TrainingResult:
    """What a training run produced and measured."""

    task: str
    base_model: str
    out_dir: Path | None
    labels: list[str]
    metrics: dict[str, Any]
    threshold: float
    wall_time_s: float
    epoch_times_s: list[float]
    history: list[EpochStats]
    recipe: Recipe
    n_train: int
    n_held_out: int
    best_epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _cap_per_source(rows: list[Row], idx: list[int], cap: int | None, seed: int) -> list[int]:
    """Keep at most `cap` seeded-random training rows from each source file."""
    if cap is None:
        return idx
    rng = np.random.default_rng(seed + 1)
    by_src: dict[str, list[int]] = {}
    for i in idx:
        by_src.setdefault(rows[i].source, []).append(i)
    kept: list[int] = []
    for src in sorted(by_src):
        group = by_src[src]
        kept.extend(group if len(group) <= cap else rng.choice(group, cap, replace=False).tolist())
    return sorted(kept)


def _lora_targets(encoder: Any, pattern: str) -> str | list[str]:
    """Use the recipe's module regex when it matches the encoder, else peft's all-linear."""
    if pattern == "all-linear":
        return pattern
    names = [n for n, _ in encoder.named_modules()]
    return pattern if any(re.fullmatch(pattern, n) for n in names) else "all-linear"


def _init_head(head: Head, feats: torch.Tensor, y: torch.Tensor, recipe: Recipe) -> None:
    """Initialise head rows from class centroids of frozen embeddings (or leave zero)."""
    if recipe.head_init != "centroid":
        return
    if recipe.normalize:
        feats = torch.nn.functional.normalize(feats, dim=-1)
    scale = recipe.head_scale / (1.0 if recipe.normalize else float(feats.norm(dim=-1).mean()))
    with torch.no_grad():
        for k in range(head.linear.out_features):
            c = feats[y == k].mean(0)
            head.linear.weight[k] = scale * c / c.norm().clamp(min=1e-8)


def _schedule(recipe: Recipe, total: int) -> Callable[[int], float]:
    """Return the LR multiplier: linear warmup, then linear or cosine decay to zero."""
    warm = max(1, int(recipe.warmup_ratio * total))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        if recipe.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if recipe.schedule == "constant":
            return 1.0
        return 1.0 - progress

    return factor


def _snapshot(model: Any, head: Head) -> dict[str, dict[str, torch.Tensor]]:
    """Copy the trainable state (LoRA + head)."""
    lora = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
    return {"lora": lora, "head": {k: v.detach().clone() for k, v in head.state_dict().items()}}


def _restore(model: Any, head: Head, snap: dict[str, dict[str, torch.Tensor]]) -> None:
    """Load a snapshot taken by _snapshot."""
    set_peft_model_state_dict(model, snap["lora"])
    head.load_state_dict(snap["head"])


def _held_out_report(
    rows: list[Row], held: list[int], probs: np.ndarray, labels: list[str], keep: float
) -> tuple[dict[str, Any], float]:
    """Compute held-out metrics (overall and per source) and the calibrated threshold."""
    gold = [rows[i].label or "" for i in held]
    top = probs.argmax(1)
    pred = [labels[k] for k in top]
    scores = probs.max(1)
    threshold = calibrate_threshold(
        scores.tolist(), [g == p for g, p in zip(gold, pred, strict=True)], keep
    )
    gated = [p if s >= threshold else UNKNOWN for p, s in zip(pred, scores, strict=True)]
    metrics = classification_metrics(gold, pred, labels)
    gated_m = classification_metrics(gold, gated, labels)
    metrics["accuracy_with_threshold"] = gated_m["accuracy"]
    metrics["unknown_rate_with_threshold"] = gated_m["unknown_rate"]
    sources = sorted({rows[i].source for i in held})
    if len(sources) > 1:
        by_source = {}
        for src in sources:
            sel = [j for j, i in enumerate(held) if rows[i].source == src]
            src_labels = sorted({gold[j] for j in sel})
            m = classification_metrics([gold[j] for j in sel], [pred[j] for j in sel], src_labels)
            by_source[Path(src).parent.name + "/" + Path(src).name] = {
                k: m[k] for k in ("n", "accuracy", "macro_f1")
            }
        metrics["by_source"] = by_source
    return metrics, threshold


def _as_rows(data: Sequence[str | Path] | Sequence[Row]) -> list[Row]:
    """Return Rows as given, or load them from CSV paths."""
    given = [d for d in data if isinstance(d, Row)]
    if given and len(given) == len(data):
        return given
    return load_many([d for d in data if isinstance(d, str | Path)])


def train(
    task: str,
    data: Sequence[str | Path] | Sequence[Row],
    out_dir: str | Path | None = None,
    base: str | None = None,
    recipe: Recipe | None = None,
    device: str = "auto",
    callback: Callable[[EpochStats], None] | None = None,
    meter: contextlib.AbstractContextManager[Any] | None = None,
    progress: bool = True,
    num_threads: int | None = None,
) -> TrainingResult:
    """Train a LoRA adapter + head for `task` on labelled CSV files (or Rows) and save it."""
    recipe = recipe or Recipe()
    base_name = base or DEFAULT_BASE
    if num_threads:
        torch.set_num_threads(num_threads)
    rows = _as_rows(data)
    with meter if meter is not None else contextlib.nullcontext():
        return _train_rows(task, rows, out_dir, base_name, recipe, device, callback, progress)


def _train_rows(
    task: str,
    rows: list[Row],
    out_dir: str | Path | None,
    base_name: str,
    recipe: Recipe,
    device_name: str,
    callback: Callable[[EpochStats], None] | None,
    progress: bool,
) -> TrainingResult:
    """The training run proper (see `train`)."""
    start = time.perf_counter()
    seed_everything(recipe.seed)
    dev = resolve_device(device_name)
    labels = sorted({r.label for r in rows if r.label})
    if len(labels) < 2:
        raise DataError(f"task {task!r}: need at least two labels, found {labels}")
    train_idx, held = stratified_split(
        [(r.source, r.label) for r in rows], recipe.held_out_fraction, recipe.seed
    )
    train_idx = _cap_per_source(rows, train_idx, recipe.max_train_per_source, recipe.seed)
    lab_id = {lab: k for k, lab in enumerate(labels)}
    tokenizer = load_tokenizer(base_name)
    pad_id = tokenizer.pad_token_id or 0
    enc_train = tokenize(tokenizer, [rows[i].text for i in train_idx], recipe.max_length)
    enc_held = tokenize(tokenizer, [rows[i].text for i in held], recipe.max_length)
    y = torch.tensor([lab_id[rows[i].label or ""] for i in train_idx])

    encoder = load_encoder(base_name).to(dev)
    head = Head(hidden_size(encoder), len(labels), recipe.normalize).to(dev)
    if recipe.head_init == "centroid":
        feats = embed_all(encoder, enc_train.ids, pad_id, recipe.pooling, dev)
        _init_head(head, feats.to(dev), y.to(dev), recipe)
    lora_cfg = LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=_lora_targets(encoder, recipe.lora_targets),
        bias="none",
    )
    model = get_peft_model(encoder, lora_cfg)
    lora_params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [
            {"params": lora_params, "lr": recipe.lr},
            {"params": list(head.parameters()), "lr": recipe.head_lr},
        ],
        weight_decay=recipe.weight_decay,
    )
    rng = np.random.default_rng(recipe.seed)
    lengths = [len(x) for x in enc_train.ids] if recipe.bucket else [0] * len(enc_train.ids)
    n_batches = math.ceil(len(train_idx) / recipe.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(recipe, n_batches * recipe.epochs))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)

    history: list[EpochStats] = []
    best_acc, best_epoch, snap = -1.0, 0, _snapshot(model, head)
    y_held = np.array([lab_id[rows[i].label or ""] for i in held])
    for epoch in range(1, recipe.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        head.train()
        total, seen = 0.0, 0
        batches = training_batches(lengths, recipe.batch_size, rng)
        bar = tqdm(batches, desc=f"{task} epoch {epoch}/{recipe.epochs}", disable=not progress)
        for batch in bar:
            input_ids, mask = collate([enc_train.ids[i] for i in batch], pad_id, dev)
            logits = head(embed(model, input_ids, mask, recipe.pooling))
            loss = loss_fn(logits, y[batch].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(batch)
            seen += len(batch)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        probs = predict_proba(model, head, enc_held.ids, pad_id, recipe.pooling, dev)
        acc = float((probs.argmax(1) == y_held).mean())
        stats = EpochStats(epoch, total / seen, acc, time.perf_counter() - t0)
        history.append(stats)
        if progress:
            tqdm.write(
                f"{task} epoch {epoch}: loss {stats.train_loss:.4f} "
                f"held-out acc {acc:.4f} ({stats.seconds:.1f}s)"
            )
        if callback is not None:
            callback(stats)
        if acc > best_acc:
            best_acc, best_epoch, snap = acc, epoch, _snapshot(model, head)
        elif epoch - best_epoch >= recipe.patience:
            break
    _restore(model, head, snap)
    probs = predict_proba(model, head, enc_held.ids, pad_id, recipe.pooling, dev)
    metrics, threshold = _held_out_report(rows, held, probs, labels, recipe.keep_fraction)
    wall = time.perf_counter() - start
    epoch_times = [h.seconds for h in history]
    metrics.update(
        {
            "threshold": threshold,
            "threshold_rule": THRESHOLD_RULE,
            "keep_fraction": recipe.keep_fraction,
            "best_epoch": best_epoch,
            "epochs_run": len(history),
            "training_wall_time_s": round(wall, 1),
            "time_per_epoch_s": [round(t, 1) for t in epoch_times],
            "n_train": len(train_idx),
            "truncated_train_rate": sum(enc_train.truncated) / len(train_idx),
            "history": [
                {
                    "epoch": h.epoch,
                    "train_loss": round(h.train_loss, 4),
                    "held_out_accuracy": round(h.held_out_accuracy, 4),
                }
                for h in history
            ],
            "device": str(dev),
            "torch_threads": torch.get_num_threads(),
        }
    )
    out_path = Path(out_dir) if out_dir is not None else None
    if out_path is not None:
        meta = AdapterMeta(
            task,
            base_name,
            labels,
            recipe.pooling,
            recipe.max_length,
            recipe.normalize,
            threshold,
            THRESHOLD_RULE,
            recipe.to_dict(),
        )
        save_adapter(out_path, model, head, meta, metrics)
    return TrainingResult(
        task,
        base_name,
        out_path,
        labels,
        metrics,
        threshold,
        wall,
        epoch_times,
        history,
        recipe,
        len(train_idx),
        len(held),
        best_epoch,
    )
