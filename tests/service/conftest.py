"""Fixtures of the service tests: tiny real adapters, real uvicorn servers on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.service.model import ServedModel, load_served_model
from models.service.settings import ServiceConfig, ServiceSettings
from storage.settings import DatabaseSettings
from tests.loopback import train_tiny_adapters

INTENTS = {
    "card_arrival": [
        "my card has not arrived",
        "where is my new card",
        "card still not here",
        "when will my card come",
        "has my card been posted yet",
    ],
    "lost_card": [
        "I lost my card",
        "my card was stolen",
        "someone took my card",
        "cannot find my card anywhere",
        "my wallet with the card is gone",
    ],
    "exchange_rate": [
        "what is the exchange rate",
        "how much is a euro in dollars",
        "rate for pounds today",
        "currency conversion rate please",
        "exchange rates for yen",
    ],
}
SENTIMENTS = {
    "positive": [
        "thanks, that is great",
        "wonderful service",
        "I love this app",
        "very helpful, thank you",
        "brilliant, it works",
    ],
    "negative": [
        "this is terrible",
        "awful, nothing works",
        "I hate waiting",
        "worst bank ever",
        "very disappointing service",
    ],
}
WINDOW = 16  # the tiny adapters' token window: longer texts are truncated


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny adapters (intent, sentiment) trained with the project's own training function."""
    root = tmp_path_factory.mktemp("adapters")
    return train_tiny_adapters(root, {"intent": INTENTS, "sentiment": SENTIMENTS}, window=WINDOW)


@pytest.fixture(scope="session")
def served_model(adapters_dir: Path) -> ServedModel:
    """The tiny adapters, loaded once for the session."""
    return load_served_model(ServiceSettings(adapters_dir=adapters_dir, device="cpu"))


def service_settings(
    database: DatabaseSettings, adapters_dir: Path, **service: Any
) -> ServiceConfig:
    """Settings for a test server on loopback."""
    return ServiceConfig(
        database=database,
        service=ServiceSettings(adapters_dir=adapters_dir, device="cpu", **service),
    )
