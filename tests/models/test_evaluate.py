"""evaluate(): served accuracy (unknown counts wrong) beside top-1, renormalisation only when asked
for, unknown labels in the data rejected, and the fields it reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.classifier import Classifier, Rule
from models.data import Row
from models.encoder import tokenize
from models.errors import ModelError
from models.evaluate import evaluate
from models.metrics import UNKNOWN

CLEAR = [
    Row("will it rain tomorrow", "weather"),
    Row("where can i eat sushi", "food"),
    Row("recommend a good band to listen to", "music"),
]
NEVER = Rule(threshold=1.01)  # no score reaches it: every answer is `unknown`


@pytest.fixture(scope="module")
def clf(model_dir: Path) -> Classifier:
    return Classifier(model_dir, device="cpu")


def test_served_accuracy_counts_unknown_wrong_top1_does_not(clf: Classifier) -> None:
    own = evaluate(clf, "intent", CLEAR)
    assert (own["accuracy"], own["top1_accuracy"], own["unknown_rate"]) == (1.0, 1.0, 0.0)
    assert Rule(own["threshold"], own["margin"]) == clf.rule("intent")
    never = evaluate(clf, "intent", CLEAR, rule=NEVER)
    assert (never["accuracy"], never["top1_accuracy"], never["unknown_rate"]) == (0.0, 1.0, 1.0)
    assert never["threshold"] == 1.01 and never["macro_f1"] == 0.0


def test_unknown_is_a_valid_gold_label(clf: Classifier) -> None:
    rows = [*CLEAR, Row("zqxv wplkj", UNKNOWN)]
    never = evaluate(clf, "intent", rows, rule=NEVER)
    assert never["accuracy"] == pytest.approx(1 / 4)  # only the `unknown` row is right
    assert set(never["per_label_f1"]) == {"food", "music", "weather"}
    assert evaluate(clf, "intent", rows, rule=Rule())["accuracy"] == pytest.approx(3 / 4)


def test_no_renormalisation_unless_restricted(clf: Classifier) -> None:
    rows = [
        Row("is the forecast bad today", "weather"),
        Row("play my song please", "music"),
        Row("how do i cook soup at home", "weather"),  # a food text; food is not in the file
    ]
    ids = tokenize(clf.tokenizer, [r.text for r in rows], clf.meta.max_length).ids
    probs = clf.probabilities(ids, ["intent"])["intent"]
    labels = clf.labels("intent")
    assert labels[int(probs[2].argmax())] == "food"

    free = evaluate(clf, "intent", rows, rule=Rule())
    assert free["restricted_to"] is None
    assert set(free["per_label_f1"]) == {"music", "weather"}  # the labels present in the data
    assert free["accuracy"] == pytest.approx(2 / 3)  # unrestricted, the soup text is food

    kept = [labels.index("music"), labels.index("weather")]
    sub = probs[:, kept] / probs[:, kept].sum(1, keepdims=True)
    answers = [["music", "weather"][k] for k in sub.argmax(1)]
    expected = np.mean([a == r.label for a, r in zip(answers, rows, strict=True)])
    half = Rule(threshold=0.5)  # a two-label distribution always has a score >= 0.5
    restricted = evaluate(clf, "intent", rows, rule=half, restrict=True)
    assert restricted["restricted_to"] == ["music", "weather"]
    assert restricted["unknown_rate"] == 0.0
    assert restricted["accuracy"] == pytest.approx(expected)
    assert restricted["top1_accuracy"] == pytest.approx(expected)
    unrestricted = evaluate(clf, "intent", rows, rule=half)
    assert unrestricted["restricted_to"] is None
    assert unrestricted["accuracy"] == pytest.approx(2 / 3)


def test_unknown_label_is_an_error(clf: Classifier) -> None:
    with pytest.raises(ModelError, match=r"labels \['sports'\] .* not known"):
        evaluate(clf, "intent", [Row("goal!", "sports"), Row("rain", "weather")])
    with pytest.raises(ModelError, match=r"labels \['weather'\]"):
        evaluate(clf, "sentiment", [Row("rain", "weather")])


def test_metrics_fields(clf: Classifier) -> None:
    result = evaluate(clf, "intent", CLEAR)
    assert {
        "task",
        "n",
        "accuracy",
        "top1_accuracy",
        "macro_f1",
        "macro_recall",
        "unknown_rate",
        "per_label_f1",
        "threshold",
        "margin",
        "restricted_to",
    } <= set(result)
    assert result["task"] == "intent" and result["n"] == 3
    assert result["macro_f1"] == 1.0 and result["macro_recall"] == 1.0
    assert result["per_label_f1"] == {"food": 1.0, "music": 1.0, "weather": 1.0}
    tones = [
        Row("i love this wonderful phone", "positive"),
        Row("this laptop is awful and broken", "negative"),
    ]
    sentiment = evaluate(clf, "sentiment", tones)
    assert sentiment["per_label_f1"] == {"negative": 1.0, "positive": 1.0}
    assert sentiment["unknown_rate"] == 0.0 and sentiment["threshold"] == 0.0
