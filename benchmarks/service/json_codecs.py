"""JSON codecs for the HTTP layer, on costbot's own request and response bodies.

    python -m benchmarks.service.json_codecs [--calls 2000] [--out results.jsonl]

Starts the model service (shipped model, a fresh SQLite database), sends it one-text and
eight-text classify requests made of BANKING77 messages, and keeps the bodies it answers. Then,
per body, CPU microseconds per call (median of 7 runs) of each way to decode the request and to
encode the response: the standard library's json, pydantic-core (what the service uses to
encode), orjson where installed, and pydantic's parse-and-validate in one step
(`ClassifyRequest.model_validate_json`) against json.loads then `model_validate`. One JSON
line per body, codec and direction.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pydantic_core

from benchmarks.record import machine, write_line
from benchmarks.service.harness import banking_texts, empty_config, server
from models.service.schemas import ClassifyRequest
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings


def service_bodies(folder: Path) -> dict[str, tuple[bytes, bytes]]:
    """{name: (request body, response body)} from a real service on a fresh database."""
    database = DatabaseSettings(url=f"sqlite:///{folder / 'codecs.db'}")
    upgrade(create_db_engine(database))
    env = {
        "COSTBOT_CONFIG": str(empty_config(folder)),
        "COSTBOT_DATA_DIR": str(folder / "data"),
        "COSTBOT_DATABASE__URL": database.url,
        "COSTBOT_DATABASE__SPOOL_PATH": str(folder / "spool.jsonl"),
        "COSTBOT_SERVICE__DEVICE": "cpu",
    }
    texts = banking_texts(8)
    requests = {
        "1 text": json.dumps({"text": texts[0]}).encode(),
        "8 texts": json.dumps({"texts": texts}).encode(),
    }
    with server(env) as (url, _), httpx.Client(timeout=60) as client:
        headers = {"content-type": "application/json"}
        return {
            name: (body, client.post(f"{url}/v1/classify", content=body, headers=headers).content)
            for name, body in requests.items()
        }


def codecs() -> dict[str, tuple[Callable[[bytes], Any], Callable[[Any], bytes]]]:
    """{name: (decode, encode)} of every codec installed here."""
    found: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], bytes]]] = {
        "json (stdlib)": (json.loads, lambda value: json.dumps(value).encode()),
        "pydantic-core": (pydantic_core.from_json, pydantic_core.to_json),
    }
    try:
        import orjson
    except ImportError:
        return found
    found["orjson"] = (orjson.loads, orjson.dumps)
    return found


def cpu_us(work: Callable[[], object], calls: int, repeats: int = 7) -> float:
    """Median CPU microseconds of one call of `work`."""
    work()
    runs = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(calls):
            work()
        runs.append((time.process_time() - started) / calls * 1e6)
    return round(statistics.median(runs), 2)


def lines_for(name: str, request: bytes, response: bytes, calls: int) -> list[dict[str, Any]]:
    """Decode and encode figures of one request/response pair, per codec; then validation."""
    document = json.loads(response)
    found = []
    for codec, (decode, encode) in codecs().items():
        found.append(("decode request", codec, cpu_us(partial(decode, request), calls)))
        found.append(("encode response", codec, cpu_us(partial(encode, document), calls)))
    two_steps = cpu_us(lambda: ClassifyRequest.model_validate(json.loads(request)), calls)
    one_step = cpu_us(lambda: ClassifyRequest.model_validate_json(request), calls)
    found.append(("parse and validate request", "json.loads + model_validate", two_steps))
    found.append(("parse and validate request", "model_validate_json", one_step))
    return [
        {
            "bench": "json_codecs",
            "body": name,
            "request_bytes": len(request),
            "response_bytes": len(response),
            "what": what,
            "codec": codec,
            "cpu_us_per_call": us,
        }
        for what, codec, us in found
    ]


def main() -> None:
    """Collect the service's bodies, time every codec on them, print/append the lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="costbot-codecs-") as tmp:
        bodies = service_bodies(Path(tmp))
    started_on = machine()
    for name, (request, response) in bodies.items():
        for line in lines_for(name, request, response, args.calls):
            write_line(args.out, {**line, "machine": started_on})


if __name__ == "__main__":
    main()
