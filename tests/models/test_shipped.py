"""The shipped adapters: small, documented, loadable, and sensible on obvious inputs."""

from __future__ import annotations

import json

import pytest

from models.classifier import Classifier
from models.paths import DEFAULT_TASKS, default_adapter_dir


@pytest.mark.parametrize("task", DEFAULT_TASKS)
def test_adapter_is_lora_and_head_only(task: str) -> None:
    folder = default_adapter_dir(task)
    assert (folder / "MODEL_CARD.md").is_file()
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000
    metrics = json.loads((folder / "metrics.json").read_text())
    card = (folder / "MODEL_CARD.md").read_text()
    assert f"{100 * metrics['accuracy']:.2f} %" in card


def test_shipped_adapters_answer_obvious_inputs() -> None:
    clf = Classifier(device="cpu")
    assert sorted(clf.tasks) == ["intent", "sentiment"]
    preds = clf.predict(
        ["I still have not received my new card", "this film is a wonderful delight", "zqx vbnm"]
    )
    assert preds[0].tasks["intent"].label == "card_arrival"
    assert preds[1].tasks["sentiment"].label == "positive"
    assert preds[2].tasks["intent"].label == "unknown"
