"""The edge, before any route runs: the bearer token, the body size cap (413 before parsing),
bodies that are not UTF-8 JSON (422 `invalid_json`), and 503 `shutting_down` while draining.

Plain ASGI, so a refused request costs no parsing and no FastAPI machinery. POST
/v1/classify, the hot path, is answered here too (models/service/classify.py): FastAPI's
per-request work cost more CPU than everything costbot does around the forward pass.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from models.service.classify import classify, parse_request
from models.service.errors import InvalidRequestError, OverloadedError
from models.service.settings import ServiceSettings
from models.service.state import ServiceState

log = logging.getLogger(__name__)
CLASSIFY = "/v1/classify"

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
        parsed = _parsed_json(body)
        if parsed is _NOT_JSON:
            detail = "the body is not valid UTF-8 JSON (or is nested too deeply)"
            await self._answer(scope, send, 422, "invalid_json", detail)
            return
        if scope["path"] == CLASSIFY and scope["method"] == "POST":
            await self._classify(scope, body, parsed, send)
            return
        await self._app(scope, _replay(body, receive), send)

    async def _classify(self, scope: Scope, body: bytes, parsed: Any, send: Send) -> None:
        """POST /v1/classify: the answer, or the error FastAPI's handlers would have sent
        (`parsed`: the body as the JSON check above read it, so it is parsed once)."""
        try:
            request = parse_request(body, parsed, _header(scope, b"content-type"))
            answer = await classify(self._state, request)
        except InvalidRequestError as error:
            await self._error(scope, send, 422, error.code, str(error))
        except OverloadedError as error:
            retry = [(b"retry-after", str(error.retry_after_s).encode())]
            await self._error(scope, send, 503, error.code, str(error), retry)
        except Exception as error:  # every 5xx body is JSON with a code, as the app's handler
            log.error("%s failed", CLASSIFY, exc_info=error)
            detail = "the service failed on this request; it has been logged, try again"
            await self._error(scope, send, 500, "internal_error", detail)
        else:
            await _send(send, 200, answer, [(b"content-type", b"application/json")])

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
        """A refusal at the edge: 503 and 413 close the connection, 401 names the scheme."""
        headers = []
        if status == 503:
            headers.append((b"retry-after", b"2"))
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 413 or status == 503:
            headers.append((b"connection", b"close"))
        await self._error(scope, send, status, code, detail, headers)

    async def _error(
        self,
        scope: Scope,
        send: Send,
        status: int,
        code: str,
        detail: str,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """The JSON error body every refusal has, counted by code and by endpoint and status."""
        metrics = self._state.metrics
        metrics.rejected.labels(code).inc()
        path = scope.get("path", "")
        metrics.requests.labels(path if path in KNOWN_PATHS else "other", str(status)).inc()
        body = json.dumps({"detail": detail, "code": code}).encode()
        await _send(send, status, body, [(b"content-type", b"application/json"), *(headers or [])])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


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


_NOT_JSON = object()


def _parsed_json(body: bytes) -> Any:
    """The body parsed as UTF-8 JSON, or _NOT_JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _NOT_JSON


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
