"""The servers of the side-by-side benchmark: how each is started, on the same weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.service.harness import REPO
from models.classifier import Classifier
from models.onnx_engine import cached_session
from models.training_cost import adapter_version
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings


@dataclass(frozen=True)
class Spec:
    """One server: its name, kind (costbot / ort / plain), command and environment."""

    name: str
    kind: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def specs(model: Path, folder: Path, *, config: Path) -> list[Spec]:
    """Every server, each on the same weights: costbot variants first, then the peers."""
    cache = folder / "onnx-cache"
    onnx = cached_session(
        Classifier(model, device="cpu"),
        version=adapter_version(model),
        cache_dir=cache,
        precision="fp32",
    ).path
    serve = [sys.executable, "-m", "benchmarks.service.serve"]

    def costbot(name: str, *args: str, **env: str) -> Spec:
        db = folder / f"{name}.db"
        upgrade(create_db_engine(DatabaseSettings(url=f"sqlite:///{db}")))
        settings = {
            "COSTBOT_CONFIG": str(config),
            "COSTBOT_DATA_DIR": str(folder / name),
            "COSTBOT_DATABASE__URL": f"sqlite:///{db}",
            "COSTBOT_DATABASE__SPOOL_PATH": str(folder / f"{name}-spool.jsonl"),
            "COSTBOT_SERVICE__ADAPTERS_DIR": str(model),
            "COSTBOT_SERVICE__ENGINE_CACHE_DIR": str(cache),
            **{f"COSTBOT_SERVICE__{k.upper()}": v for k, v in env.items()},
        }
        return Spec(name, "costbot", [*serve, *args], settings)

    return [
        costbot("costbot"),
        costbot("costbot-no-recording", "--no-costs"),
        costbot("costbot-asyncio-h11", "--loop", "asyncio", "--http", "h11"),
        costbot("costbot-torch", engine="torch"),
        costbot("costbot-one-text-per-forward", max_batch_size="1"),
        Spec(
            "transformers-pipeline-fastapi",
            "plain",
            [*peers_of("pipeline_server"), "--model", str(model)],
        ),
        Spec(
            "onnxruntime-batching",
            "ort",
            [*peers_of("ort_server"), "--onnx", str(onnx), "--model", str(model)],
        ),
    ]


def peers_of(module: str) -> list[str]:
    """The command that runs one peer server module."""
    return [sys.executable, "-m", f"benchmarks.service.peers.{module}"]


@contextmanager
def start(spec: Spec, *, port: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start a server on `port`; yield (url, process); SIGTERM (then kill) on exit."""
    log = (REPO / "out").resolve()
    log.mkdir(exist_ok=True)
    with (log / f"peers-{spec.name}.log").open("ab") as out:
        process = subprocess.Popen(
            [*spec.argv, "--port", str(port)],
            cwd=REPO,
            env={**os.environ, **spec.env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
