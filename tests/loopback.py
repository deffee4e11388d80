"""Test helpers shared by the service and bot suites: a real server on loopback, a tiny model."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from models.corpora import INTENT, OOD, SENTIMENT, Corpus
from models.data import Row
from models.recipe import Recipe
from models.report import EscalationCosts
from models.train import train


def free_socket() -> socket.socket:
    """A socket bound to a free loopback port (not yet listening)."""
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


# Off-topic queries for a bank's support bot: the out-of-domain corpus of every tiny model.
OFF_TOPIC = [
    "what is the weather like in paris tomorrow",
    "who won the football match last night",
    "recommend a good pizza recipe",
    "play some jazz music for me",
    "how tall is mount everest",
    "tell me a joke about cats",
    "what time does the cinema open",
    "translate hello into french",
    "how many legs does a spider have",
    "book a table for two at eight",
    "what is the capital of australia",
    "set an alarm for seven am",
]
OFF_TOPIC_HELD = [
    "will it snow in berlin this weekend",
    "who wrote the lord of the rings",
    "suggest a film to watch tonight",
    "how do i bake sourdough bread",
]
# What an escalated and a wrong answer cost when the tiny model's `unknown` rule is chosen.
TINY_COSTS = EscalationCosts(escalate=1.0, wrong=4.0, ood_prior=0.1)


def tiny_recipe(window: int = 16) -> Recipe:
    """The recipe of the tiny test models: two short epochs, rank-2 LoRA, a `window`-token input."""
    return Recipe(epochs=2, lora_r=2, lora_alpha=4, max_length=window, batch_size=16)


def tiny_corpora(examples: dict[str, dict[str, list[str]]]) -> list[Corpus]:
    """Intent, sentiment and off-topic corpora; held-out rows reuse the training rows."""
    corpora = []
    for role in (INTENT, SENTIMENT):
        rows = [Row(t, label, "fixture") for label, texts in examples[role].items() for t in texts]
        corpora.append(Corpus(f"tiny-{role}", role, rows, list(rows)))
    ood = [Row(t, None, "fixture") for t in OFF_TOPIC]
    held = [Row(t, None, "fixture") for t in OFF_TOPIC_HELD]
    return [*corpora, Corpus("tiny-off-topic", OOD, ood, held)]


def train_tiny_adapters(
    root: Path, examples: dict[str, dict[str, list[str]]], *, window: int = 16
) -> Path:
    """Train one tiny real multi-task model (intent + sentiment heads, one LoRA adapter) into
    `root` with the project's training code; `examples` is {task: {label: [texts]}}."""
    train(
        tiny_corpora(examples),
        costs=TINY_COSTS,
        out_dir=root,
        recipe=tiny_recipe(window),
        device="cpu",
        progress=False,
        num_threads=1,
    )
    return root


# The tiny support model of the service and bot suites: real BANKING77 intent names (so the bot's
# reply templates apply) and the three sentiment labels of the shipped model.
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
    "negative": [
        "this is terrible",
        "awful, nothing works",
        "I hate waiting",
        "worst bank ever",
        "very disappointing service",
    ],
    "neutral": [
        "where is my card",
        "what is the rate",
        "I lost my card",
        "my card has not arrived",
        "when will it come",
    ],
    "positive": [
        "thanks, that is great",
        "wonderful service",
        "I love this app",
        "very helpful, thank you",
        "brilliant, it works",
    ],
}
WINDOW = 16  # the tiny model's token window: longer texts are truncated
