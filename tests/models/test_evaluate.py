"""evaluate(): restriction to a label subset, unknown labels rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.classifier import Classifier
from models.data import Row
from models.errors import ModelError
from models.evaluate import evaluate
from models.train import TrainingResult


@pytest.fixture(scope="module")
def clf(trained: TrainingResult) -> Classifier:
    assert trained.out_dir is not None
    return Classifier({"topic": trained.out_dir}, device="cpu")


def test_subset_labels_restrict_predictions(clf: Classifier) -> None:
    rows = [
        Row("is the forecast bad today", "weather"),
        Row("play my song please", "music"),
        Row("how do i cook soup at home", "weather"),
    ]  # a food text; food is not in the file
    result = evaluate(clf, "topic", rows, threshold=0.0)
    assert result["restricted_to"] == ["music", "weather"]
    assert set(result["per_label_f1"]) == {"music", "weather"}
    assert result["n"] == 3 and result["unknown_rate"] == 0.0
    full = evaluate(clf, "topic", [*rows, Row("where can i eat pizza", "food")], threshold=0.0)
    assert full["restricted_to"] is None
    assert full["accuracy"] == pytest.approx(3 / 4)  # unrestricted, the soup text is food


def test_restricted_scores_cover_only_the_subset(clf: Classifier) -> None:
    free = clf.predict(["how do i cook soup at home"])[0].tasks["topic"]
    assert free.label == "food"
    sub = clf.predict(["how do i cook soup at home"], restrict={"topic": ["music", "weather"]})
    answer = sub[0].tasks["topic"]
    assert {lab for lab, _ in answer.top} == {"music", "weather"}
    assert sum(s for _, s in answer.top) == pytest.approx(1.0, abs=1e-4)


def test_unknown_label_is_an_error(clf: Classifier) -> None:
    with pytest.raises(ModelError, match=r"labels \['sports'\] .* not known"):
        evaluate(clf, "topic", [Row("goal!", "sports"), Row("rain", "weather")])


def test_metrics_fields(clf: Classifier, tmp_path: Path) -> None:
    rows = [
        Row("will it rain tomorrow", "weather"),
        Row("where can i eat sushi", "food"),
        Row("recommend a good band to listen to", "music"),
    ]
    result = evaluate(clf, "topic", rows)
    assert {"n", "accuracy", "macro_f1", "macro_recall", "unknown_rate", "per_label_f1"} <= set(
        result
    )
    assert result["accuracy"] == 1.0 and result["unknown_rate"] == 0.0
