"""The edge, before any route runs: the bearer token, the body size cap (413 before parsing),
bodies that are not UTF-8 JSON (422 `invalid_json`), and 503 `shutting_down` while draining.

Plain ASGI, so a refused request costs no parsing and no FastAPI machinery.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from models.service.settings import ServiceSettings
from models.service.state import ServiceState

Message = MutableMapping[str, Any]
# Answer without the token: liveness and readiness probes.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
KNOWN_PATHS = frozenset({"/v1/classify", "/v1/models", "/metrics", *OPEN_PATHS})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class EdgeGuard:
    """ASGI middleware guarding every request before it reaches the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        token: str | None,
        state: ServiceState,
    ) -> None:
        self._app = app
        self._max = max_body_bytes
        self._token = f"Bearer {token}".encode() if token else None
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, or pass the request on (with its body read once and checked)."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope.get("path", "")
        problem = self._precheck(scope, path)
        if problem is not None:
            await self._answer(scope, send, *problem)
            return
        self._state.in_flight += 1
        try:
            await self._pass_on(scope, receive, send)
        finally:
            self._state.in_flight -= 1

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self._app(scope, receive, send)
            return
        body = await _read_body(receive, self._max)
        if body is None:
            await self._answer(scope, send, 413, "body_too_large", self._too_large())
            return
        if not _is_json(body):
            detail = "the body is not valid UTF-8 JSON (or is nested too deeply)"
            await self._answer(scope, send, 422, "invalid_json", detail)
            return
        await self._app(scope, _replay(body, receive), send)

    def _precheck(self, scope: Scope, path: str) -> tuple[int, str, str] | None:
        if self._token is not None and path not in OPEN_PATHS and not self._authorised(scope):
            return 401, "unauthorized", "send the service token: Authorization: Bearer <token>"
        if self._state.draining and path not in OPEN_PATHS:
            return 503, "shutting_down", "the service is shutting down; retry on another replica"
        declared = _content_length(scope)
        if declared is not None and declared > self._max:
            return 413, "body_too_large", self._too_large()
        return None

    def _authorised(self, scope: Scope) -> bool:
        given = dict(scope.get("headers", [])).get(b"authorization", b"")
        assert self._token is not None
        return hmac.compare_digest(given, self._token)

    def _too_large(self) -> str:
        return f"the body is larger than {self._max} bytes"

    async def _answer(self, scope: Scope, send: Send, status: int, code: str, detail: str) -> None:
        metrics = self._state.metrics
        metrics.rejected.labels(code).inc()
        path = scope.get("path", "")
        metrics.requests.labels(path if path in KNOWN_PATHS else "other", str(status)).inc()
        body = json.dumps({"detail": detail, "code": code}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if status == 503:
            headers.append((b"retry-after", b"2"))
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 413 or status == 503:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows past `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A receive that hands the app the body already read, then the client's later messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def is_loopback(host: str) -> bool:
    """Whether a listen address reaches this machine only."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def max_body_bytes(service: ServiceSettings) -> int:
    """The largest body a valid request can need: every text at its limit, each character
    JSON-escaped as a surrogate pair (12 bytes), plus room for the rest of the request."""
    return service.max_texts_per_request * (service.max_text_chars * 12 + 64) + 16_384


class UnprotectedServiceError(ValueError):
    """The service would listen beyond loopback without a token."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"the model service would listen on {host} without a token: anyone who reaches it "
            "could book costs. Set COSTBOT_SERVICE_TOKEN (the bot sends it) or listen on "
            "127.0.0.1."
        )
