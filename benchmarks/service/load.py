"""A light load generator: N keep-alive HTTP/1.1 connections over asyncio streams.

httpx costs about a millisecond of CPU per request, which on a 2-core machine would be taken
from the server being measured; a hand-rolled keep-alive client costs a few tens of µs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """What one load run saw."""

    concurrency: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    def summary(self) -> dict[str, float | int]:
        """Throughput (successful requests/s) and latency percentiles in ms."""
        lat = sorted(self.latencies_s) or [0.0]
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 2),
            "ok": self.ok,
            "non_200": sum(self.statuses.values()) - self.ok,
            "errors": self.errors,
            "throughput_rps": round(self.ok / self.seconds, 1),
            "p50_ms": round(1000 * statistics.median(lat), 2),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2),
        }


class Connection:
    """One keep-alive connection posting JSON bodies."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """Send one POST, return (status, body); reconnects once if the server closed it."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def run_load(
    url: str,
    bodies: list[bytes],
    *,
    concurrency: int,
    seconds: float | None = None,
    requests: int | None = None,
    path: str = "/v1/classify",
) -> LoadResult:
    """Closed-loop load: `concurrency` clients each send the next body as soon as one returns."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = LoadResult(concurrency, 0.0)
    counter = iter(range(requests if requests is not None else 10**12))
    started = time.perf_counter()
    stop_at = started + seconds if seconds is not None else float("inf")

    async def client(k: int) -> None:
        connection = Connection(host, port)
        for i in counter:
            if time.perf_counter() >= stop_at:
                break
            sent = time.perf_counter()
            try:
                status, _ = await connection.post(path, bodies[(i + k) % len(bodies)])
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                result.errors += 1
                connection.close()
                await asyncio.sleep(0.05)
                continue
            result.statuses[status] += 1
            if status == 200:
                result.latencies_s.append(time.perf_counter() - sent)
        connection.close()

    await asyncio.gather(*(client(k) for k in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def bodies_from_texts(texts: list[str]) -> list[bytes]:
    """One single-text request body per text, as the bot sends them."""
    return [
        json.dumps({"text": t, "source": {"kind": "http", "command": "bench"}}).encode()
        for t in texts
    ]
