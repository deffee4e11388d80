"""Held-out figures of a trained support model and its `unknown` operating point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from models.batching import collate, inference_batches
from models.calibration import ScoredSet, auroc, choose_operating_point
from models.classifier import Rule, served_answer
from models.corpora import INTENT, OOD, SENTIMENT, Corpus
from models.data import Row
from models.encoder import tokenize
from models.metrics import classification_metrics
from models.network import task_logits

if TYPE_CHECKING:
    from models.calibration import OperatingPoint
    from models.recipe import Recipe
    from models.run_state import Built, Prepared

OFF_TOPIC_SAMPLE = 1000


@dataclass(frozen=True)
class EscalationCosts:
    """What an escalated and a wrongly answered message cost (price-sheet currency per message).

    `escalate`: a human ticket; `wrong`: a human ticket plus the harm of a wrong answer;
    `ood_prior`: the assumed share of out-of-scope messages in traffic.
    """

    escalate: float
    wrong: float
    ood_prior: float = 0.1
    currency: str = "USD"


@torch.inference_mode()
def corpus_probs(
    rows: list[Row], task: str, prepared: Prepared, built: Built, recipe: Recipe
) -> np.ndarray:
    """Softmax probabilities (n, labels) of `task` for rows, in row order."""
    built.model.eval()
    ids = tokenize(prepared.tokenizer, [r.text for r in rows], recipe.max_length).ids
    out = np.zeros((len(rows), len(prepared.labels[task])), dtype=np.float32)
    for batch in inference_batches([len(x) for x in ids], 128):
        input_ids, mask = collate([ids[i] for i in batch], prepared.pad_id, built.device)
        heads = {task: built.heads[task].eval()}
        logits = task_logits(built.model, heads, input_ids, mask, recipe.pooling)[task]
        out[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return out


def held_out_report(
    corpora: list[Corpus], prepared: Prepared, built: Built, recipe: Recipe, costs: EscalationCosts
) -> tuple[dict[str, Any], OperatingPoint]:
    """Metrics per held-out corpus, out-of-scope detection and the chosen operating point."""
    intent = next(c for c in corpora if c.role == INTENT)
    labels = prepared.labels[INTENT]
    probs = corpus_probs(intent.held, INTENT, prepared, built, recipe)
    gold = np.array([labels.index(r.label or "") for r in intent.held])
    in_scope = ScoredSet.from_probs(probs, gold)
    ood_sets = {
        name: ScoredSet.from_probs(corpus_probs(rows, INTENT, prepared, built, recipe))
        for name, rows in _ood_held(corpora, recipe.seed).items()
    }
    point = choose_operating_point(
        in_scope,
        ood_sets["out-of-scope queries"],
        cost_wrong=costs.wrong,
        cost_escalate=costs.escalate,
        ood_prior=costs.ood_prior,
    )
    metrics: dict[str, Any] = {
        "intent": _intent_metrics(intent.held, probs, labels, point.threshold, point.margin),
        "out_of_scope": _ood_metrics(in_scope, ood_sets, point.threshold, point.margin),
        "operating_point": {**point.to_dict(), "currency": costs.currency},
        "sentiment": {
            c.name: sentiment_metrics(
                c.held,
                corpus_probs(c.held, SENTIMENT, prepared, built, recipe),
                prepared.labels[SENTIMENT],
            )
            for c in corpora
            if c.role == SENTIMENT and c.held
        },
    }
    return metrics, point


def _ood_held(corpora: list[Corpus], seed: int) -> dict[str, list[Row]]:
    """Out-of-scope proxies: held-out OOD queries, and off-topic held-out sentiment text."""
    queries = [r for c in corpora if c.role == OOD for r in c.held]
    off_topic = [
        r
        for c in corpora
        if c.role == SENTIMENT and c.name != "banking77-sentiment"
        for r in c.held
    ]
    rng = np.random.default_rng(seed)
    if len(off_topic) > OFF_TOPIC_SAMPLE:
        off_topic = [
            off_topic[int(i)] for i in rng.choice(len(off_topic), OFF_TOPIC_SAMPLE, replace=False)
        ]
    return {"out-of-scope queries": queries, "off-topic text": off_topic}


def gate(probs: np.ndarray, labels: list[str], threshold: float, margin: float) -> list[str]:
    """The served labels under the classifier's own rule (`served_answer`)."""
    rule = Rule(threshold, margin)
    return [served_answer(row, labels, rule, 1, False).label for row in probs]


def _intent_metrics(
    rows: list[Row], probs: np.ndarray, labels: list[str], threshold: float, margin: float
) -> dict[str, Any]:
    """Top-1 and served (thresholded) figures on in-scope held-out messages."""
    gold = [r.label or "" for r in rows]
    top1 = classification_metrics(gold, [labels[k] for k in probs.argmax(1)], labels)
    served = classification_metrics(gold, gate(probs, labels, threshold, margin), labels)
    return {
        "n": len(rows),
        "top1_accuracy": top1["accuracy"],
        "macro_f1": top1["macro_f1"],
        "served_accuracy": served["accuracy"],
        "unknown_rate": served["unknown_rate"],
        "per_label_f1": top1["per_label_f1"],
    }


def _ood_metrics(
    in_scope: ScoredSet, ood_sets: dict[str, ScoredSet], threshold: float, margin: float
) -> dict[str, Any]:
    """AUROC of max-softmax (in-scope vs each proxy) and the share flagged `unknown`."""
    return {
        name: {
            "n": len(s.scores),
            "auroc": round(auroc(in_scope.scores, s.scores), 4),
            "flagged_unknown": float(np.mean((s.scores < threshold) | (s.gaps < margin))),
        }
        for name, s in ood_sets.items()
        if len(s.scores)
    }


def sentiment_metrics(rows: list[Row], probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 / recall over the labels present in the gold data, per-label F1.

    Predictions are never renormalised: a `neutral` answer to a two-class (SST-2) row is wrong.
    """
    gold = [r.label or "" for r in rows]
    pred = [labels[k] for k in probs.argmax(1)]
    present = sorted(set(gold))
    m = classification_metrics(gold, pred, present)
    return {k: m[k] for k in ("n", "accuracy", "macro_f1", "macro_recall", "per_label_f1")}
