"""The servers of the side-by-side benchmark: how each is started, on the same weights."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.service.harness import REPO
from benchmarks.service.peers.st_export import write_sentence_transformer
from models.classifier import Classifier
from models.onnx_engine import cached_session
from models.training_cost import adapter_version
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings


@dataclass(frozen=True)
class Spec:
    """One server: its name, kind (costbot / ort / plain / infinity), command and environment;
    where it is asked (`path`) and where it says it is ready."""

    name: str
    kind: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/v1/classify"
    ready_path: str = "/readyz"
    cwd: Path | None = None


def specs(model: Path, folder: Path, *, config: Path, infinity: Path | None = None) -> list[Spec]:
    """Every server, each on the same weights: costbot variants first, then the peers
    (infinity-emb's two engines only when `infinity`, its venv's bin folder, is given)."""
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
        costbot("costbot-ort-1-thread", "--ort-threads", "1"),
        costbot("costbot-ort-no-spinning", "--ort-no-spinning"),
        costbot("costbot-linger-2ms", batch_linger_ms="2"),
        costbot("costbot-padded", packed_batches="false"),
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
        Spec(
            "onnxruntime-batching-spinning",
            "ort",
            [*peers_of("ort_server"), "--onnx", str(onnx), "--model", str(model), "--spinning"],
        ),
        *(infinity_specs(model, folder, infinity) if infinity is not None else []),
    ]


def infinity_specs(model: Path, folder: Path, bin_dir: Path) -> list[Spec]:
    """infinity-emb's torch and optimum (ONNX) engines on the merged encoder: embeddings only
    (mean-pooled, normalised); the heads are a 384-wide matmul the benchmark applies when it
    checks agreement. The optimum engine needs an ONNX export with `last_hidden_state`, made
    here by the venv's optimum-cli; it finds it only when started in the model folder."""
    merged = write_sentence_transformer(model, folder / "infinity-model")
    exported = folder / "infinity-onnx"
    export = ["export", "onnx", "--model", str(merged), "--task", "feature-extraction"]
    subprocess.run(
        [str(bin_dir / "optimum-cli"), *export, "--library-name", "transformers", str(exported)],
        check=True,
        capture_output=True,
    )
    shutil.copy(exported / "model.onnx", merged / "model.onnx")
    common = ["--device", "cpu", "--host", "127.0.0.1", "--batch-size", "64"]
    common += ["--served-model-name", "support", "--no-model-warmup", "--pooling-method", "mean"]
    quiet = {"INFINITY_ANONYMOUS_USAGE_STATS": "0", "DO_NOT_TRACK": "1"}
    serve = [str(bin_dir / "infinity_emb"), "v2", "--model-id", "."]
    return [
        Spec(
            f"infinity-emb-{engine}",
            "infinity",
            [*serve, "--engine", engine, *common],
            quiet,
            path="/embeddings",
            ready_path="/health",
            cwd=merged,
        )
        for engine in ("torch", "optimum")
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
            cwd=spec.cwd or REPO,
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
