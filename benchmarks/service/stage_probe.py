"""Serve costbot or the ONNX Runtime peer with a timestamp at each stage of a request.

Usage (run by benchmarks.service.stages, not by hand):
    python -m benchmarks.service.stage_probe costbot|peer [the server's own arguments]

Wraps the functions a POST /v1/classify passes through so that each appends (stage, perf_counter)
before and after it runs (about 1 µs a mark), and answers GET /probe/stages with every mark so far
as JSON. The server itself is started exactly as the side-by-side benchmark starts it
(benchmarks.service.serve for costbot, benchmarks.service.peers.ort_server for the peer).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import uvicorn

Marks = list[tuple[str, float]]
MARKS: Marks = []
PROBE_PATH = "/probe/stages"


def mark(stage: str) -> None:
    """Note that `stage` was reached now."""
    MARKS.append((stage, time.perf_counter()))


def timed(owner: Any, name: str, stage: str) -> None:
    """Replace `owner.name` (a function or method) by one that marks `stage`+0 before it runs
    and `stage`+1 after it returns."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(f"{stage}0")
        try:
            return original(*args, **kwargs)
        finally:
            mark(f"{stage}1")

    setattr(owner, name, wrapper)


class StagesApp:
    """ASGI wrapper: marks `request` and `response` around POST /v1/classify, answers
    GET /probe/stages, passes everything else on."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Mark or answer, then hand the request to the server's own app."""
        path = scope.get("path") if scope["type"] == "http" else None
        if path == PROBE_PATH:
            body = json.dumps(MARKS).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if path != "/v1/classify":
            await self._app(scope, receive, send)
            return
        mark("request")
        try:
            await self._app(scope, receive, send)
        finally:
            mark("response")


def probed_run(run: Callable[..., Any], app: Any, **options: Any) -> Any:
    """uvicorn.run with the app wrapped in StagesApp (ASGI 3 named: uvicorn would otherwise
    probe the wrapper by calling it without arguments)."""
    return run(StagesApp(app), interface="asgi3", **options)


def probe_costbot() -> None:
    """Mark costbot's stages and serve it as benchmarks.service.serve does."""
    from benchmarks.service import serve
    from models import onnx_engine
    from models.classifier import Classifier
    from models.service import batcher, classify, edge, pricing, recording, runner

    timed(edge, "parse_request", "parse")
    timed(classify, "_jobs", "jobs")
    timed(batcher.MicroBatcher, "submit", "submit")
    timed(runner.BatchRunner, "__call__", "batch")
    timed(Classifier, "predict", "predict")
    timed(onnx_engine.PackedOnnxForward, "packed_logits", "forward")
    timed(pricing.BatchPricer, "price", "price")
    timed(runner, "_outcomes", "outcomes")
    timed(recording.Recorder, "record", "record")
    timed(runner.BatchRunner, "_observe", "metrics")
    timed(classify, "classify_json", "render")
    serve.uvicorn.run = partial(probed_run, uvicorn.run)  # type: ignore[attr-defined]
    serve.main()


def probe_peer() -> None:
    """Mark the ONNX Runtime peer's stages and serve it as the side-by-side benchmark does."""
    from benchmarks.service.peers import ort_server
    from models import onnx_engine

    timed(ort_server.Server, "run", "batch")
    timed(onnx_engine.OnnxForward, "logits", "forward")
    ort_server.uvicorn.run = partial(probed_run, uvicorn.run)  # type: ignore[attr-defined]
    ort_server.main()


def main() -> None:
    """`costbot` or `peer`, then the server's own arguments."""
    kind = sys.argv.pop(1)
    {"costbot": probe_costbot, "peer": probe_peer}[kind]()


if __name__ == "__main__":
    main()
