"""Bot fixtures: a migrated SQLite database and the real model service on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from models.data import Row
from models.recipe import Recipe
from models.service import create_app
from models.service.model import ServedModel, load_served_model
from models.train import train
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings, ServiceSettings, Settings

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


def _rows(examples: dict[str, list[str]]) -> list[Row]:
    return [Row(text, label, "fixture") for label, texts in examples.items() for text in texts] * 2


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    """Two tiny real adapters (intent, sentiment), trained once per session."""
    root = tmp_path_factory.mktemp("bot-adapters")
    recipe = Recipe(epochs=1, lora_r=2, lora_alpha=4, max_length=16, batch_size=16)
    for task, examples in (("intent", INTENTS), ("sentiment", SENTIMENTS)):
        train(task, _rows(examples), root / task, recipe=recipe, device="cpu", progress=False)
    return load_served_model(ServiceSettings(adapters_dir=root, device="cpu"))


@pytest.fixture
def database(tmp_path: Path) -> DatabaseSettings:
    """Settings of an empty, migrated SQLite database."""
    settings = DatabaseSettings(
        url=f"sqlite:///{tmp_path / 'bot.db'}",
        spool_path=tmp_path / "spool.jsonl",
        flush_interval_s=0.05,
    )
    engine = create_db_engine(settings)
    upgrade(engine)
    engine.dispose()
    return settings


@pytest.fixture
def engine(database: DatabaseSettings) -> Iterator[Engine]:
    """An engine on the test database."""
    engine = create_db_engine(database)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    """Sessions on the test database."""
    return session_factory(engine)


@pytest.fixture
def service_url(served_model: ServedModel, database: DatabaseSettings) -> Iterator[str]:
    """The real model service on loopback, recording into the test database."""
    settings = Settings(database=database, service=ServiceSettings(device="cpu"))
    with running(create_app(settings, model=served_model)) as url:
        yield url


@pytest.fixture
def settings(database: DatabaseSettings, service_url: str) -> Settings:
    """Bot settings pointing at the test service and database."""
    return Settings(
        database=database, service=ServiceSettings(url=service_url, request_timeout_s=20)
    )


def free_port_socket() -> socket.socket:
    """A socket bound to a free loopback port (not yet listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve an app with uvicorn in a thread until ready; yield its URL; shut it down after."""
    sock = free_port_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        _wait_ready(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"service at {url} did not become ready")


@pytest.fixture
def unused_url() -> str:
    """A loopback URL where nothing listens (the model service is down)."""
    sock = free_port_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
