"""Loading adapters back: identical predictions, unknown detection, token counts, both modes."""

from __future__ import annotations

import json
import random
import shutil
import string
from pathlib import Path

import numpy as np
import pytest

from models.classifier import Classifier
from models.data import load_rows
from models.errors import ModelError
from models.evaluate import evaluate
from models.split import stratified_split
from models.train import TrainingResult
from tests.models.conftest import TINY_RECIPE


@pytest.fixture(scope="module")
def clf(trained: TrainingResult) -> Classifier:
    assert trained.out_dir is not None
    return Classifier({"topic": trained.out_dir}, device="cpu")


def gibberish(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    word = lambda: "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 12)))  # noqa: E731
    return [f"{word()} {word()}" for _ in range(n)]


def test_round_trip_reproduces_training_metrics(
    clf: Classifier, trained: TrainingResult, data_csv: Path
) -> None:
    rows = load_rows(data_csv)
    _, held = stratified_split(
        [(r.source, r.label) for r in rows], TINY_RECIPE.held_out_fraction, TINY_RECIPE.seed
    )
    result = evaluate(clf, "topic", [rows[i] for i in held])
    assert result["n"] == trained.n_held_out
    assert result["accuracy_argmax"] == trained.metrics["accuracy"]
    assert result["per_label_f1"].keys() == trained.metrics["per_label_f1"].keys()


def test_reload_and_shared_mode_give_identical_predictions(
    clf: Classifier, trained: TrainingResult
) -> None:
    texts = ["will it snow tomorrow", "play my album please", "i want to order a pizza"]
    first = [p.tasks["topic"] for p in clf.predict(texts)]
    assert [a.label for a in first] == ["weather", "music", "food"]
    again = Classifier({"topic": trained.out_dir or ""}, device="cpu")
    assert [p.tasks["topic"] for p in again.predict(texts)] == first
    shared = Classifier({"topic": trained.out_dir or ""}, device="cpu", mode="shared")
    scores = [p.tasks["topic"].score for p in shared.predict(texts)]
    np.testing.assert_allclose(scores, [a.score for a in first], atol=1e-4)


def test_unknown_for_gibberish_with_calibrated_threshold(clf: Classifier) -> None:
    preds = clf.predict(gibberish(20))
    assert sum(p.tasks["topic"].label == "unknown" for p in preds) >= 16
    inside = clf.predict(["is the storm bad today", "where can i eat sushi"])
    assert [p.tasks["topic"].label for p in inside] == ["weather", "food"]
    lowered = clf.predict(gibberish(20), thresholds={"topic": 0.0})
    assert all(p.tasks["topic"].label != "unknown" for p in lowered)


def test_top_k_tokens_and_truncation(clf: Classifier) -> None:
    long_text = " ".join(["rain"] * 100)
    preds = clf.predict(["rain", long_text], top_k=2)
    assert [len(p.tasks["topic"].top) for p in preds] == [2, 2]
    assert preds[0].n_tokens == 3 and not preds[0].truncated
    assert preds[1].n_tokens == 102 and preds[1].truncated
    assert sum(b.size for b in clf.last_batches) == 2
    assert sum(b.real_tokens for b in clf.last_batches) == 3 + TINY_RECIPE.max_length
    assert preds[0].to_dict()["tasks"]["topic"]["label"] == preds[0].tasks["topic"].label


def test_errors_for_wrong_task_and_missing_dir(clf: Classifier, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not loaded"):
        clf.predict(["x"], tasks=["intent"])
    with pytest.raises(ModelError, match="adapter directory not found"):
        Classifier({"topic": tmp_path / "missing"}, device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not an adapter directory"):
        Classifier({"topic": tmp_path / "empty"}, device="cpu")


def test_two_adapters_on_one_shared_base(trained: TrainingResult, tmp_path: Path) -> None:
    assert trained.out_dir is not None
    twin = tmp_path / "twin"
    shutil.copytree(trained.out_dir, twin)
    config = json.loads((twin / "config.json").read_text())
    (twin / "config.json").write_text(json.dumps({**config, "task": "twin"}))
    texts = ["will it snow tomorrow", "where can i eat sushi"]
    for mode in ("merged", "shared"):
        both = Classifier({"topic": trained.out_dir, "twin": twin}, device="cpu", mode=mode)
        preds = both.predict(texts)
        assert [sorted(p.tasks) for p in preds] == [["topic", "twin"]] * 2
        for p in preds:
            assert p.tasks["topic"].label == p.tasks["twin"].label
            assert p.tasks["topic"].score == pytest.approx(p.tasks["twin"].score, abs=1e-5)
        assert {b.task for b in both.last_batches} == {"topic", "twin"}
