"""Loading the model back: held-out figures reproduced, one encoder forward for every task,
`unknown` only for intent, top-k, token counts, truncation and clear errors."""

from __future__ import annotations

import json
import math
import random
import shutil
import string
from pathlib import Path

import pytest

from models.classifier import FORWARD_TOKENS, Classifier, Rule
from models.corpora import INTENT, SENTIMENT, Corpus
from models.errors import ModelError
from models.evaluate import evaluate
from models.metrics import UNKNOWN
from models.train import TrainingResult
from tests.models.conftest import TINY_RECIPE


@pytest.fixture(scope="module")
def clf(model_dir: Path) -> Classifier:
    return Classifier(model_dir, device="cpu")


def gibberish(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 12)))

    return [f"{word()} {word()}" for _ in range(n)]


OFF_TOPIC = ["who won the election", "how do i reset my password", "my card has not arrived"]


def test_round_trip_reproduces_the_held_out_figures(
    clf: Classifier, trained: TrainingResult, corpora: list[Corpus]
) -> None:
    intent = next(c for c in corpora if c.role == INTENT)
    tones = next(c for c in corpora if c.role == SENTIMENT)
    saved = trained.metrics["intent"]
    result = evaluate(clf, "intent", intent.held)
    assert result["n"] == saved["n"] == len(intent.held)
    assert result["top1_accuracy"] == saved["top1_accuracy"]
    assert result["per_label_f1"] == saved["per_label_f1"]
    # The threshold is one of the held-out scores: merging LoRA may move that one row by 1e-7.
    assert result["accuracy"] == pytest.approx(saved["served_accuracy"], abs=1 / len(intent.held))
    assert result["threshold"] == pytest.approx(trained.meta.tasks["intent"].threshold)
    sentiment = evaluate(clf, "sentiment", tones.held)
    assert sentiment["accuracy"] == trained.metrics["sentiment"]["tones"]["accuracy"]
    assert sentiment["macro_f1"] == pytest.approx(trained.metrics["sentiment"]["tones"]["macro_f1"])


def test_meta_tasks_labels_and_rules(clf: Classifier, trained: TrainingResult) -> None:
    assert clf.tasks == ["intent", "sentiment"]
    assert clf.labels("intent") == ["food", "music", "weather"]
    assert clf.labels("sentiment") == ["negative", "neutral", "positive"]
    own = trained.meta.tasks["intent"]
    assert clf.rule("intent") == Rule(own.threshold, own.margin)
    assert clf.rule("sentiment") == Rule(0.0, 0.0)
    assert clf.meta.max_length == TINY_RECIPE.max_length


def test_one_encoder_forward_per_bucket_whatever_the_number_of_tasks(clf: Classifier) -> None:
    texts = [*gibberish(5), "will it rain tomorrow", "where can i eat sushi", "play my song please"]
    forwards: list[int] = []
    hook = clf.encoder.register_forward_hook(lambda *_: forwards.append(1))
    try:
        runs = {}
        for tasks in (["intent"], ["sentiment"], ["intent", "sentiment"]):
            forwards.clear()
            runs[len(tasks), tasks[0]] = clf.predict(texts, tasks=tasks, batch_size=3)
            assert len(forwards) == len(clf.last_batches) >= math.ceil(len(texts) / 3)
            assert all(b.size <= 3 for b in clf.last_batches)
            assert sum(b.size for b in clf.last_batches) == len(texts)
    finally:
        hook.remove()
    both = runs[2, "intent"]
    assert [p.tasks["intent"] for p in both] == [p.tasks["intent"] for p in runs[1, "intent"]]
    assert [p.tasks["sentiment"] for p in both] == [
        p.tasks["sentiment"] for p in runs[1, "sentiment"]
    ]
    assert all(set(p.tasks) == {"intent", "sentiment"} for p in both)
    assert all(set(p.tasks) == {"intent"} for p in runs[1, "intent"])


def test_length_buckets_answer_as_one_text_per_forward(clf: Classifier) -> None:
    texts = [*gibberish(9, seed=3), *OFF_TOPIC, "will it rain tomorrow " * 6, "hi", "play music"]
    together = clf.predict(texts, batch_size=16)
    widths = [b.padded_length for b in clf.last_batches]
    assert len(widths) > 1  # cut by width, not by rows alone
    clf.forward_tokens = 0.0  # cut at any saving: padding stays within the limit
    try:
        finer = clf.predict(texts, batch_size=16)
        assert all(b.padding_tokens <= 0.1 * b.size * b.padded_length for b in clf.last_batches)
    finally:
        clf.forward_tokens = FORWARD_TOKENS
    alone = [clf.predict([text])[0] for text in texts]
    for bucketed, cut, single in zip(together, finer, alone, strict=True):
        for task, answer in bucketed.tasks.items():
            assert answer.label == cut.tasks[task].label == single.tasks[task].label
            assert answer.score == pytest.approx(single.tasks[task].score, abs=1e-5)
            assert cut.tasks[task].score == pytest.approx(answer.score, abs=1e-5)


def test_sentiment_never_answers_unknown(clf: Classifier) -> None:
    texts = [*gibberish(20, seed=2), *OFF_TOPIC]
    preds = clf.predict(texts, tasks=["sentiment"])
    assert all(p.tasks["sentiment"].label in clf.labels("sentiment") for p in preds)
    clear = clf.predict(["i love this wonderful phone", "this laptop is awful and broken"])
    assert [p.tasks["sentiment"].label for p in clear] == ["positive", "negative"]


def test_intent_unknown_for_gibberish_and_off_topic_and_rule_override(clf: Classifier) -> None:
    noise = [*gibberish(20), *OFF_TOPIC]
    preds = clf.predict(noise)
    assert sum(p.tasks["intent"].label == UNKNOWN for p in preds) >= 0.8 * len(noise)
    inside = clf.predict(["is the storm bad today", "where can i eat sushi"])
    assert [p.tasks["intent"].label for p in inside] == ["weather", "food"]
    lowered = clf.predict(noise, rules={"intent": Rule(0.0, 0.0)})
    assert all(p.tasks["intent"].label != UNKNOWN for p in lowered)
    assert [p.tasks["intent"].score for p in lowered] == [p.tasks["intent"].score for p in preds]
    strict = clf.predict(["is the storm bad today"], rules={"intent": Rule(0.0, 1.01)})
    assert strict[0].tasks["intent"].label == UNKNOWN  # no top-2 gap exceeds 1


def test_top_k_tokens_and_truncation(clf: Classifier) -> None:
    long_text = " ".join(["rain"] * 100)
    preds = clf.predict(["rain", long_text], top_k=2)
    assert [len(p.tasks["intent"].top) for p in preds] == [2, 2]
    assert [len(p.tasks["sentiment"].top) for p in preds] == [2, 2]
    top = preds[0].tasks["intent"].top
    assert top[0][1] >= top[1][1] and top[0][1] == preds[0].tasks["intent"].score
    assert preds[0].n_tokens == 3 and not preds[0].truncated
    assert preds[1].n_tokens == 102 and preds[1].truncated
    assert preds[1].tasks["intent"].truncated
    assert sum(b.size for b in clf.last_batches) == 2
    assert sum(b.real_tokens for b in clf.last_batches) == 3 + TINY_RECIPE.max_length
    assert len(clf.predict(["rain"], top_k=1)[0].tasks["sentiment"].top) == 1
    as_dict = preds[0].to_dict()
    assert as_dict["tasks"]["intent"]["label"] == preds[0].tasks["intent"].label
    assert as_dict["n_tokens"] == 3


def test_errors_for_unknown_task_missing_dir_and_non_model_dir(
    clf: Classifier, model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="task 'topic' not in the model"):
        clf.predict(["x"], tasks=["topic"])
    with pytest.raises(ModelError, match="not in the model"):
        clf.labels("emotion")
    with pytest.raises(ModelError, match="model directory not found"):
        Classifier(tmp_path / "missing", device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a support model directory"):
        Classifier(tmp_path / "empty", device="cpu")
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    config = json.loads((broken / "config.json").read_text())
    del config["tasks"]
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="malformed config"):
        Classifier(broken, device="cpu")
