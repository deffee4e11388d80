"""The strongest peer a skilled user would deploy: ONNX Runtime behind a minimal batching server.

Usage: python -m benchmarks.service.peers.ort_server --onnx FILE --model DIR --port P [--spinning]

A raw ASGI app on uvicorn (uvloop, httptools where installed), the `tokenizers` fast tokenizer,
orjson; one worker thread runs ONNX Runtime; a request that finds it idle runs at once, and
whatever queued meanwhile is the next batch (up to 64 texts). No costing, no records, no
validation beyond what the benchmark sends. GET /stats: the batch sizes it ran. `--spinning`:
ONNX Runtime's threads spin within a run (its default) and stop when it returns; without it they
sleep between operators. The benchmark runs both and compares costbot with the better.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from tokenizers import Tokenizer

from benchmarks.service.peers.common import WINDOW, answer, labels, softmax, text_of
from models.encoder import resolve_base
from models.onnx_engine import OnnxForward
from models.store import load_meta

MAX_BATCH = 64


class Server:
    """Queue, batch, run, answer."""

    def __init__(self, onnx: Path, model_dir: Path, *, spinning: bool) -> None:
        self.names = labels(model_dir)
        self.tasks = list(self.names)
        self.forward = OnnxForward(onnx, tasks=self.tasks, spinning=spinning)
        base = resolve_base(load_meta(model_dir).base_model)
        self.tokenizer = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
        self.tokenizer.enable_truncation(WINDOW)
        self.tokenizer.no_padding()
        self.queue: list[tuple[str, asyncio.Future[bytes]]] = []
        self.wakeup = asyncio.Event()
        self.executor = ThreadPoolExecutor(1)
        self.sizes: Counter[int] = Counter()

    def run(self, texts: list[str]) -> list[bytes]:
        encoded = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, item in enumerate(encoded):
            ids[row, : len(item.ids)] = item.ids
            mask[row, : len(item.ids)] = 1
        logits = self.forward.logits(ids, mask, self.tasks)
        probs = {task: softmax(value) for task, value in logits.items()}
        return [answer({t: p[i] for t, p in probs.items()}, self.names) for i in range(len(texts))]

    async def collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self.queue:
                self.wakeup.clear()
                await self.wakeup.wait()
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            self.sizes[len(batch)] += 1
            results = await loop.run_in_executor(self.executor, self.run, [t for t, _ in batch])
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            asyncio.get_running_loop().create_task(self.collect())
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] != "/v1/classify":
            await _reply(send, json.dumps({"batch_sizes": dict(self.sizes)}).encode())
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.queue.append((text_of(body), future))
        self.wakeup.set()
        await _reply(send, await future)


async def _reply(send: Any, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    """Serve until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--onnx", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spinning", action="store_true", help="threads spin within runs")
    args = parser.parse_args()
    server = Server(args.onnx, args.model, spinning=args.spinning)
    uvicorn.run(server, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
