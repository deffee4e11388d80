"""Classification metrics over label strings."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import f1_score, recall_score

UNKNOWN = "unknown"


def classification_metrics(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, object]:
    """Return n, accuracy, macro F1 / recall over `labels`, unknown rate and per-label F1."""
    n = len(gold)
    label_list = list(labels)
    per = f1_score(gold, pred, labels=label_list, average=None, zero_division=0)
    return {
        "n": n,
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / n if n else 0.0,
        "macro_f1": float(
            f1_score(gold, pred, labels=label_list, average="macro", zero_division=0)
        ),
        "macro_recall": float(
            recall_score(gold, pred, labels=label_list, average="macro", zero_division=0)
        ),
        "unknown_rate": sum(p == UNKNOWN for p in pred) / n if n else 0.0,
        "per_label_f1": {lab: round(float(f), 4) for lab, f in zip(label_list, per, strict=True)},
    }
