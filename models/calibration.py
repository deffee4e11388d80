"""The `unknown` operating point, chosen by expected cost on held-out data.

A message the bot answers wrongly costs `cost_wrong` (a human still handles it, plus the harm of a
wrong answer); a message escalated as `unknown` costs `cost_escalate` (a human ticket); a right
answer costs nothing. Out-of-scope messages are always wrong when answered. With a share
`ood_prior` of out-of-scope traffic, the expected cost per message of a rule is

    (1 - ood_prior) * mean_in(answered & wrong) * cost_wrong
  + (1 - ood_prior) * mean_in(escalated) * cost_escalate
  + ood_prior * (mean_ood(answered) * cost_wrong + mean_ood(escalated) * cost_escalate)

The rule answers when the max-softmax score >= threshold and the top-2 gap >= margin
(margin 0: no ambiguity rule, like Rasa's FallbackClassifier `ambiguity_threshold`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15)


@dataclass(frozen=True)
class ScoredSet:
    """Held-out max-softmax scores, top-2 gaps and (in-scope only) correctness."""

    scores: np.ndarray
    gaps: np.ndarray
    correct: np.ndarray | None = None

    @classmethod
    def from_probs(cls, probs: np.ndarray, gold: np.ndarray | None = None) -> ScoredSet:
        """From an (n, labels) probability matrix and, for in-scope rows, gold label ids."""
        top2 = np.sort(probs, axis=1)[:, -2:]
        correct = None if gold is None else probs.argmax(1) == gold
        return cls(top2[:, 1], top2[:, 1] - top2[:, 0], correct)


@dataclass(frozen=True)
class OperatingPoint:
    """The chosen rule and what it does on the held-out data."""

    threshold: float
    margin: float
    expected_cost_per_message: float
    in_scope_kept: float
    served_accuracy: float
    ood_flagged: float
    cost_wrong: float
    cost_escalate: float
    ood_prior: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items()}


def choose_operating_point(
    in_scope: ScoredSet,
    ood: ScoredSet,
    *,
    cost_wrong: float,
    cost_escalate: float,
    ood_prior: float,
    margins: tuple[float, ...] = MARGINS,
) -> OperatingPoint:
    """The (threshold, margin) of least expected cost; ValueError on bad costs or priors."""
    if cost_wrong <= 0 or cost_escalate < 0 or not 0.0 <= ood_prior < 1.0:
        raise ValueError("need cost_wrong > 0, cost_escalate >= 0 and 0 <= ood_prior < 1")
    if in_scope.correct is None:
        raise ValueError("the in-scope set needs correctness")
    candidates = _midpoints(np.concatenate([in_scope.scores, ood.scores]))
    best: OperatingPoint | None = None
    for margin in margins:
        for threshold in candidates:
            point = _evaluate(
                in_scope, ood, float(threshold), margin, cost_wrong, cost_escalate, ood_prior
            )
            if (
                best is None
                or point.expected_cost_per_message < best.expected_cost_per_message - 1e-12
            ):
                best = point
    assert best is not None
    return best


def _midpoints(scores: np.ndarray) -> np.ndarray:
    """0 and the midpoints between neighbouring distinct scores: a threshold never sits on a
    held-out score, so tiny numeric changes (e.g. merging LoRA weights) do not flip a row."""
    distinct = np.unique(scores)
    return np.concatenate([[0.0], (distinct[1:] + distinct[:-1]) / 2])


def _evaluate(
    in_scope: ScoredSet,
    ood: ScoredSet,
    threshold: float,
    margin: float,
    cost_wrong: float,
    cost_escalate: float,
    ood_prior: float,
) -> OperatingPoint:
    """The expected cost and rates of one rule."""
    assert in_scope.correct is not None
    answered = (in_scope.scores >= threshold) & (in_scope.gaps >= margin)
    ood_answered = (ood.scores >= threshold) & (ood.gaps >= margin)
    wrong_in = float(np.mean(answered & ~in_scope.correct))
    escalated_in = 1.0 - float(np.mean(answered))
    ood_ans = float(np.mean(ood_answered)) if len(ood.scores) else 0.0
    cost = (1 - ood_prior) * (wrong_in * cost_wrong + escalated_in * cost_escalate)
    cost += ood_prior * (ood_ans * cost_wrong + (1 - ood_ans) * cost_escalate)
    return OperatingPoint(
        threshold=threshold,
        margin=margin,
        expected_cost_per_message=cost,
        in_scope_kept=1.0 - escalated_in,
        served_accuracy=float(np.mean(answered & in_scope.correct)),
        ood_flagged=1.0 - ood_ans,
        cost_wrong=cost_wrong,
        cost_escalate=cost_escalate,
        ood_prior=ood_prior,
    )


def auroc(in_scores: np.ndarray, ood_scores: np.ndarray) -> float:
    """Area under the ROC curve of max-softmax score, in-scope (positive) vs out-of-scope."""
    from sklearn.metrics import roc_auc_score

    y = np.concatenate([np.ones(len(in_scores)), np.zeros(len(ood_scores))])
    return float(roc_auc_score(y, np.concatenate([in_scores, ood_scores])))
