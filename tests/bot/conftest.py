"""Bot fixtures: a migrated database of each backend and the real model service on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.settings import BotConfig, ServiceEndpoint
from models.service import create_app
from models.service.model import ServedModel, load_served_model
from models.service.settings import ServiceConfig, ServiceSettings
from storage.settings import DatabaseSettings
from tests.loopback import free_socket, running, train_tiny_adapters

# Real BANKING77 label names, so the support templates apply.
INTENTS = {
    "card_arrival": [
        "my card has not arrived",
        "where is my new card",
        "card still not here",
        "when will my card come",
        "has my card been posted yet",
    ],
    "lost_or_stolen_card": [
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
    "neutral": [
        "where is my card",
        "what is the rate",
        "I lost my card",
        "my card has not arrived",
        "when will it come",
    ],
    "negative": [
        "this is terrible",
        "awful, nothing works",
        "I hate waiting",
        "worst bank ever",
        "very disappointing service",
    ],
}


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    """Two tiny real adapters (intent, sentiment), trained once per session."""
    root = tmp_path_factory.mktemp("bot-adapters")
    train_tiny_adapters(root, {"intent": INTENTS, "sentiment": SENTIMENTS})
    return load_served_model(ServiceSettings(adapters_dir=root, device="cpu"))


@pytest.fixture
def database(db_settings: DatabaseSettings, engine: Engine) -> DatabaseSettings:
    """An empty database of each backend, migrated by the shared `engine` fixture."""
    return db_settings


@pytest.fixture
def service_url(served_model: ServedModel, database: DatabaseSettings) -> Iterator[str]:
    """The real model service on loopback, recording into the test database."""
    settings = ServiceConfig(database=database, service=ServiceSettings(device="cpu"))
    with running(create_app(settings, model=served_model)) as url:
        yield url


@pytest.fixture
def settings(database: DatabaseSettings, service_url: str) -> BotConfig:
    """Bot settings pointing at the test service and database."""
    return BotConfig(database=database, service=ServiceEndpoint(url=service_url, timeout_s=20))


@pytest.fixture
def unused_url() -> str:
    """A loopback URL where nothing listens (the model service is down)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
