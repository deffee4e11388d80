"""The shipped support model: small, documented, loadable, and sensible on obvious inputs."""

from __future__ import annotations

import json

import pytest

from models.classifier import Classifier
from models.paths import default_model_dir

SHIPPED = default_model_dir()


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %"


def test_model_is_small_and_holds_lora_heads_config_metrics_and_card() -> None:
    names = {p.name for p in SHIPPED.iterdir()}
    expected = {
        "adapter_model.safetensors",
        "adapter_config.json",
        "heads.safetensors",
        "config.json",
        "metrics.json",
        "MODEL_CARD.md",
    }
    assert expected <= names
    assert sum(p.stat().st_size for p in SHIPPED.iterdir()) < 5_000_000  # the base is ~90 MB
    config = json.loads((SHIPPED / "config.json").read_text())
    assert set(config["tasks"]) == {"intent", "sentiment"}
    assert config["operating_point"]["threshold"] == pytest.approx(
        config["tasks"]["intent"]["threshold"], abs=1e-6
    )


def test_model_card_figures_match_metrics() -> None:
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    card = (SHIPPED / "MODEL_CARD.md").read_text()
    intent = metrics["intent"]
    figures = [intent["top1_accuracy"], intent["served_accuracy"]]
    figures += [corpus["accuracy"] for corpus in metrics["sentiment"].values()]
    missing = [_percent(f) for f in figures if _percent(f) not in card]
    assert not missing, f"MODEL_CARD.md lacks these metrics.json figures: {missing}"


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return Classifier(SHIPPED, device="cpu")


def test_shipped_model_answers_obvious_inputs(shipped: Classifier) -> None:
    assert sorted(shipped.tasks) == ["intent", "sentiment"]
    assert shipped.labels("sentiment") == ["negative", "neutral", "positive"]
    assert len(shipped.labels("intent")) == 77
    texts = [
        "I still have not received my new card",
        "what's the weather like in paris tomorrow",
        "this film is a wonderful delight",
        "my transfer failed again, this is ridiculous",
    ]
    card, weather, film, transfer = shipped.predict(texts)
    assert card.tasks["intent"].label == "card_arrival"
    assert weather.tasks["intent"].label == "unknown"
    assert film.tasks["sentiment"].label == "positive"
    assert transfer.tasks["sentiment"].label == "negative"
