"""Evaluate the support model on labelled rows of one task, as the service would answer them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from models.classifier import Classifier, Rule, served_answer
from models.data import Row
from models.encoder import tokenize
from models.errors import ModelError
from models.metrics import UNKNOWN, classification_metrics

CHUNK = 256


def evaluate(
    classifier: Classifier,
    task: str,
    rows: Sequence[Row],
    rule: Rule | None = None,
    restrict: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Served and top-1 figures of `task` on rows.

    Returns n, served `accuracy` (`unknown` counts wrong), `top1_accuracy`, macro F1 and recall
    over the gold labels present, the unknown rate, per-label F1, the rule used and
    `restricted_to`. Probabilities are renormalised over the file's labels only when `restrict`
    is true. Raises ModelError when the data holds a label the model does not know.
    """
    gold = [r.label or "" for r in rows]
    model_labels = classifier.labels(task)
    unknown = sorted({g for g in gold if g not in model_labels and g != UNKNOWN})
    if unknown:
        raise ModelError(
            f"task {task!r}: labels {unknown} in the data are not known to the model "
            f"(model labels: {model_labels}); pass only rows with known labels"
        )
    probs = _probabilities(classifier, task, [r.text for r in rows], progress)
    labels = model_labels
    present = sorted(set(gold) - {UNKNOWN})
    if restrict:
        keep = [labels.index(g) for g in present]
        probs = probs[:, keep] / probs[:, keep].sum(1, keepdims=True)
        labels = present
    chosen = rule or classifier.rule(task)
    served = [served_answer(p, labels, chosen, 1, False).label for p in probs]
    top1 = [labels[k] for k in probs.argmax(1)]
    metrics = classification_metrics(gold, served, present)
    return {
        "task": task,
        **metrics,
        "top1_accuracy": sum(g == p for g, p in zip(gold, top1, strict=True)) / max(1, len(gold)),
        "threshold": chosen.threshold,
        "margin": chosen.margin,
        "restricted_to": present if restrict else None,
    }


def _probabilities(
    classifier: Classifier, task: str, texts: list[str], progress: bool
) -> np.ndarray:
    """Softmax of `task` for texts, in chunks so progress can be shown."""
    parts = []
    chunks = range(0, len(texts), CHUNK)
    for start in tqdm(chunks, desc=f"eval {task}", unit="chunk", disable=not progress):
        ids = tokenize(
            classifier.tokenizer, texts[start : start + CHUNK], classifier.meta.max_length
        ).ids
        parts.append(classifier.probabilities(ids, [task])[task])
    return np.concatenate(parts) if parts else np.zeros((0, len(classifier.labels(task))))
