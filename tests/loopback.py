"""Test helpers shared by the service and bot suites: a real server on loopback, tiny adapters."""

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

from models.data import Row
from models.recipe import Recipe
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


def train_tiny_adapters(
    root: Path, examples: dict[str, dict[str, list[str]]], *, window: int = 16
) -> Path:
    """Train one tiny real adapter per task (one epoch, r=2) with the project's training code."""
    recipe = Recipe(epochs=1, lora_r=2, lora_alpha=4, max_length=window, batch_size=16)
    for task, by_label in examples.items():
        rows = [Row(text, label, "fixture") for label, texts in by_label.items() for text in texts]
        train(task, rows * 2, root / task, recipe=recipe, device="cpu", progress=False)
    return root
