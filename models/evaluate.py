"""Evaluate a loaded classifier on labelled rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.classifier import Classifier
from models.data import Row
from models.errors import ModelError
from models.metrics import classification_metrics


def evaluate(
    classifier: Classifier, task: str, rows: Sequence[Row], threshold: float | None = None
) -> dict[str, Any]:
    """Return n, accuracy, macro F1/recall, unknown rate and per-label F1 of `task` on rows.

    When the rows' labels are a strict subset of the model's, predictions are restricted to that
    subset (probabilities renormalised) and `restricted_to` lists it; an unknown label is an error.
    """
    gold = [r.label or "" for r in rows]
    model_labels = classifier.labels(task)
    file_labels = sorted(set(gold))
    unknown = [lab for lab in file_labels if lab not in model_labels]
    if unknown:
        raise ModelError(
            f"task {task!r}: labels {unknown} in the data are not known to the model "
            f"(model labels: {model_labels})"
        )
    restricted = file_labels if len(file_labels) < len(model_labels) else None
    limit = classifier.threshold(task) if threshold is None else threshold
    preds = classifier.predict(
        [r.text for r in rows],
        tasks=[task],
        thresholds={task: limit},
        restrict={task: file_labels} if restricted else None,
    )
    answers = [p.tasks[task] for p in preds]
    labels = restricted or model_labels
    metrics = classification_metrics(gold, [a.label for a in answers], labels)
    argmax = [a.top[0][0] for a in answers]
    return {
        "task": task,
        **metrics,
        "accuracy_argmax": sum(g == p for g, p in zip(gold, argmax, strict=True)) / len(gold),
        "threshold": limit,
        "restricted_to": restricted,
    }
