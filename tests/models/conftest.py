"""Shared fixtures: small synthetic, clearly separable corpora and one tiny trained support model.

Intents are three topics (weather, food, music), sentiment is three tones (negative, neutral,
positive) about everyday things, and the out-of-domain texts are sports, travel and science
questions. Held-out rows are drawn with another seed than the training rows.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch

from models.corpora import INTENT, OOD, SENTIMENT, Corpus
from models.data import Row
from models.recipe import Recipe
from models.report import EscalationCosts
from models.train import TrainingResult, train

Templates = dict[str, tuple[list[str], list[str]]]

TOPICS: Templates = {
    "weather": (
        ["rain", "sunny", "storm", "forecast", "cloudy", "snow", "windy", "temperature"],
        ["will it {} tomorrow", "is the {} bad today", "tell me about the {} this week"],
    ),
    "food": (
        ["pizza", "pasta", "salad", "burger", "sushi", "soup", "noodles", "sandwich"],
        ["i want to order a {}", "where can i eat {}", "how do i cook {} at home"],
    ),
    "music": (
        ["guitar", "concert", "playlist", "song", "album", "piano", "drums", "band"],
        ["play my {} please", "when is the next {}", "recommend a good {} to listen to"],
    ),
}
THINGS = ["phone", "hotel", "movie", "book", "laptop", "train", "jacket", "game"]
TONES: Templates = {
    "negative": (
        THINGS,
        ["this {} is awful and broken", "i hate this terrible {}", "worst {} ever, so angry"],
    ),
    "neutral": (
        THINGS,
        ["the {} is on the table", "i bought a {} on tuesday", "the {} is blue"],
    ),
    "positive": (
        THINGS,
        ["i love this wonderful {}", "the {} is great, thank you", "best {} ever, so happy"],
    ),
}
OFF_TOPIC: Templates = {
    "": (
        ["football", "tennis", "paris", "tokyo", "volcanoes", "planets", "chess", "rome"],
        [
            "how many players are in {}",
            "book a flight to {} next month",
            "explain the science of {}",
            "who is the best at {}",
        ],
    )
}

COSTS = EscalationCosts(escalate=1.0, wrong=4.0, ood_prior=0.1)
TINY_RECIPE = Recipe(
    epochs=3,
    batch_size=16,
    lr=2e-3,
    head_lr=2e-2,
    patience=10,
    lora_r=4,
    lora_alpha=8,
    max_length=32,
    label_smoothing=0.0,
)


def synthetic_rows(templates: Templates, per_label: int, seed: int) -> list[tuple[str, str]]:
    """(text, label) pairs: each label has its own words and sentence templates."""
    rng = random.Random(seed)
    rows = [
        (rng.choice(forms).format(rng.choice(words)), label)
        for label, (words, forms) in templates.items()
        for _ in range(per_label)
    ]
    rng.shuffle(rows)
    return rows


def as_rows(pairs: Sequence[tuple[str, str]]) -> list[Row]:
    """Rows from (text, label) pairs; an empty label means unlabelled (out-of-domain)."""
    return [Row(text, label or None, "synthetic") for text, label in pairs]


def synthetic_corpora(per_label: int = 24, held_per_label: int = 8, seed: int = 0) -> list[Corpus]:
    """Intent, sentiment and out-of-domain corpora (as many rows as each of the other two),
    held-out rows drawn with their own seed."""
    return [
        Corpus(
            "topics",
            INTENT,
            as_rows(synthetic_rows(TOPICS, per_label, seed)),
            as_rows(synthetic_rows(TOPICS, held_per_label, seed + 100)),
        ),
        Corpus(
            "tones",
            SENTIMENT,
            as_rows(synthetic_rows(TONES, per_label, seed + 1)),
            as_rows(synthetic_rows(TONES, held_per_label, seed + 101)),
        ),
        Corpus(
            "off-topic",
            OOD,
            as_rows(synthetic_rows(OFF_TOPIC, 3 * per_label, seed + 2)),
            as_rows(synthetic_rows(OFF_TOPIC, 3 * held_per_label, seed + 102)),
        ),
    ]


def write_csv(
    path: Path, rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = ("text", "label")
) -> Path:
    """Write rows under a header as UTF-8 CSV and return the path."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny batches gain nothing from more threads; one avoids oversubscribing a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def corpora() -> list[Corpus]:
    """The synthetic corpora of the session's tiny model."""
    return synthetic_corpora()


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, corpora: list[Corpus]) -> TrainingResult:
    """One tiny training run on the synthetic corpora, saved to a temporary model directory."""
    out = tmp_path_factory.mktemp("model") / "support"
    return train(
        corpora, costs=COSTS, out_dir=out, recipe=TINY_RECIPE, device="cpu", progress=False
    )


@pytest.fixture(scope="session")
def model_dir(trained: TrainingResult) -> Path:
    """The tiny model's directory."""
    assert trained.out_dir is not None
    return trained.out_dir
