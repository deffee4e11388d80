"""Fixtures of the service tests: tiny real adapters, real uvicorn servers on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from models.data import Row
from models.recipe import Recipe
from models.service.model import ServedModel, load_served_model
from models.train import train
from storage.settings import DatabaseSettings, ServiceSettings, Settings

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


def _rows(examples: dict[str, list[str]]) -> list[Row]:
    return [Row(text, label, "fixture") for label, texts in examples.items() for text in texts] * 2


@pytest.fixture(scope="session")
def adapters_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny adapters (intent, sentiment) trained with the project's own training function."""
    root = tmp_path_factory.mktemp("adapters")
    recipe = Recipe(epochs=1, lora_r=2, lora_alpha=4, max_length=WINDOW, batch_size=16)
    for task, examples in (("intent", INTENTS), ("sentiment", SENTIMENTS)):
        train(task, _rows(examples), root / task, recipe=recipe, device="cpu", progress=False)
    return root


@pytest.fixture(scope="session")
def served_model(adapters_dir: Path) -> ServedModel:
    """The tiny adapters, loaded once for the session."""
    return load_served_model(ServiceSettings(adapters_dir=adapters_dir, device="cpu"))


def service_settings(database: DatabaseSettings, adapters_dir: Path, **service: Any) -> Settings:
    """Settings for a test server on loopback."""
    return Settings(
        database=database,
        service=ServiceSettings(adapters_dir=adapters_dir, device="cpu", **service),
    )


def free_socket() -> socket.socket:
    """A listening-ready socket bound to a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running(app: FastAPI, *, ready: bool = True) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread; yield its base URL; shut it down (lifespan) after."""
    sock = free_socket()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        _wait_started(server, url, ready=ready)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def _wait_started(server: uvicorn.Server, url: str, *, ready: bool) -> None:
    deadline = time.monotonic() + 60
    path = "/readyz" if ready else "/healthz"
    while time.monotonic() < deadline:
        if server.started:
            try:
                if httpx.get(url + path, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    raise TimeoutError(f"server at {url} did not become {'ready' if ready else 'live'}")
