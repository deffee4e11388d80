"""Shared fixtures: a small synthetic, clearly separable data set and one tiny trained adapter."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch

from models.recipe import Recipe
from models.train import TrainingResult, train

TOPICS = {
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


def synthetic_rows(per_label: int = 30, seed: int = 0) -> list[tuple[str, str]]:
    """Return (text, label) pairs: each label has its own words and sentence templates."""
    rng = random.Random(seed)
    rows = []
    for label, (words, templates) in TOPICS.items():
        for _ in range(per_label):
            rows.append((rng.choice(templates).format(rng.choice(words)), label))
    rng.shuffle(rows)
    return rows


def write_csv(
    path: Path, rows: Sequence[tuple[str, ...]], header: tuple[str, ...] = ("text", "label")
) -> Path:
    """Write rows under a header as UTF-8 CSV and return the path."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


TINY_RECIPE = Recipe(
    epochs=4,
    batch_size=8,
    lr=2e-3,
    head_lr=2e-2,
    patience=10,
    lora_r=4,
    lora_alpha=8,
    max_length=32,
    held_out_fraction=0.2,
    label_smoothing=0.0,
)


@pytest.fixture(scope="session", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny batches gain nothing from more threads; one avoids oversubscribing a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def data_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic labelled CSV (90 rows, 3 labels)."""
    return write_csv(tmp_path_factory.mktemp("data") / "train.csv", synthetic_rows())


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, data_csv: Path) -> TrainingResult:
    """One tiny training run on the synthetic data, saved to a temporary adapter dir."""
    out = tmp_path_factory.mktemp("adapter") / "topic"
    return train("topic", [data_csv], out, recipe=TINY_RECIPE, device="cpu", progress=False)
