"""The `unknown` operating point: least expected cost on a small hand-made held-out set."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import MARGINS, OperatingPoint, ScoredSet, auroc, choose_operating_point

# In-scope: four answers, the one scored 0.8 is wrong and ambiguous (top-2 gap 0.05).
IN_SCOPE = ScoredSet(
    scores=np.array([0.9, 0.8, 0.7, 0.6]),
    gaps=np.array([0.5, 0.05, 0.4, 0.4]),
    correct=np.array([True, False, True, True]),
)
# Out-of-scope: one confident but ambiguous (gap 0.02), one unsure.
OOD = ScoredSet(scores=np.array([0.75, 0.3]), gaps=np.array([0.02, 0.5]))
COSTS = {"cost_wrong": 4.0, "cost_escalate": 1.0, "ood_prior": 0.2}


def choose(
    changes: dict[str, float] | None = None,
    in_scope: ScoredSet = IN_SCOPE,
    margins: tuple[float, ...] = MARGINS,
) -> OperatingPoint:
    """The operating point of IN_SCOPE and OOD under COSTS with `changes`."""
    costs = {**COSTS, **(changes or {})}
    return choose_operating_point(
        in_scope,
        OOD,
        cost_wrong=costs["cost_wrong"],
        cost_escalate=costs["cost_escalate"],
        ood_prior=costs["ood_prior"],
        margins=margins,
    )


def test_threshold_only_picks_the_hand_computed_least_cost() -> None:
    # Expected cost = 0.8 * (in-scope wrong * 4 + escalated) + 0.2 * (ood answered * 4 + escalated):
    # t=0: 0.8*1 + 0.2*4 = 1.6; t=0.6: 0.8 + 0.2*2.5 = 1.3; t=0.7: 1.0 + 0.5 = 1.5;
    # t=0.75: 1.2 + 0.5 = 1.7; t=0.8: 1.2 + 0.2 = 1.4; t=0.9: 0.8*0.75 + 0.2 = 0.8 (least).
    # Thresholds sit midway between held-out scores, so the rule "answer 0.9 only" is t=0.85.
    point = choose(margins=(0.0,))
    assert (point.threshold, point.margin) == (pytest.approx(0.85), 0.0)
    assert point.expected_cost_per_message == pytest.approx(0.8)
    assert point.in_scope_kept == pytest.approx(0.25)
    assert point.served_accuracy == pytest.approx(0.25)
    assert point.ood_flagged == 1.0


def test_margin_escalates_the_ambiguous_answers() -> None:
    # Margin 0.1 escalates the wrong in-scope answer (gap 0.05) and the confident off-topic one
    # (gap 0.02): answering from 0.6 up (t=0.45, midway from 0.3) then costs
    # 0.8 * 0.25 + 0.2 * 1 = 0.4, the least of every rule.
    point = choose()
    assert (point.threshold, point.margin) == (pytest.approx(0.45), 0.1)
    assert point.expected_cost_per_message == pytest.approx(0.4)
    assert (point.in_scope_kept, point.served_accuracy) == (0.75, 0.75)
    assert point.ood_flagged == 1.0
    assert point.to_dict()["threshold"] == 0.45 and point.to_dict()["cost_wrong"] == 4.0


def test_cheap_wrong_answers_answer_everything() -> None:
    point = choose({"cost_wrong": 0.5})
    assert (point.threshold, point.margin) == (0.0, 0.0) and point.in_scope_kept == 1.0


@pytest.mark.parametrize(
    "costs",
    [{"cost_wrong": 0.0}, {"cost_escalate": -1.0}, {"ood_prior": 1.0}, {"ood_prior": -0.1}],
)
def test_bad_costs_raise(costs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="cost_wrong > 0"):
        choose(costs)


def test_in_scope_set_needs_correctness() -> None:
    with pytest.raises(ValueError, match="correctness"):
        choose(in_scope=OOD)


def test_scored_set_from_probabilities() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.25, 0.4, 0.35]])
    scored = ScoredSet.from_probs(probs, np.array([0, 2]))
    np.testing.assert_allclose(scored.scores, [0.7, 0.4])
    np.testing.assert_allclose(scored.gaps, [0.5, 0.05])
    assert scored.correct is not None and scored.correct.tolist() == [True, False]
    assert ScoredSet.from_probs(probs).correct is None


def test_auroc() -> None:
    assert auroc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auroc(np.array([0.1, 0.2]), np.array([0.9, 0.8])) == 0.0
