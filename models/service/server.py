"""Runs the service on uvicorn with a drain phase: on SIGTERM the app first answers new requests
503 `shutting_down` (with Retry-After) while those in flight finish, then uvicorn stops."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI

from models.service.edge import UnprotectedServiceError, is_loopback
from models.service.state import ServiceState

log = logging.getLogger(__name__)
MIN_DRAIN_S = 0.5  # new requests still get an answer (503), not a reset, for at least this long


class DrainingServer(uvicorn.Server):
    """uvicorn, but the first SIGTERM/SIGINT drains before the server stops."""

    def __init__(self, config: uvicorn.Config, state: ServiceState) -> None:
        super().__init__(config)
        self._state = state
        self._drain: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain, then exit; a second one: uvicorn's own handling."""
        if self._state.draining or sig not in (signal.SIGTERM, signal.SIGINT):
            super().handle_exit(sig, frame)
            return
        self._state.draining = True
        log.info("draining: new requests get 503 shutting_down")
        self._drain = asyncio.get_event_loop().create_task(self._drain_then_exit(sig, frame))

    async def _drain_then_exit(self, sig: int, frame: FrameType | None) -> None:
        deadline = time.monotonic() + self._state.settings.service.request_timeout_s
        started = time.monotonic()
        while time.monotonic() < deadline:
            idle = self._state.queue_depth() == 0 and self._state.in_flight == 0
            if idle and time.monotonic() - started >= MIN_DRAIN_S:
                break
            await asyncio.sleep(0.05)
        super().handle_exit(sig, frame)


def serve(app: FastAPI, *, host: str, port: int, graceful_s: float) -> None:
    """Serve until SIGTERM/SIGINT, draining first; refuse to listen beyond loopback without a
    token (UnprotectedServiceError)."""
    state: ServiceState = app.state.service
    if not is_loopback(host) and state.settings.service_token() is None:
        raise UnprotectedServiceError(host)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        timeout_graceful_shutdown=int(graceful_s),
        log_level="info",
        access_log=False,
        log_config=None,
    )
    DrainingServer(config, state).run()
