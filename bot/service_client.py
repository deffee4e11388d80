"""A small async client for the model service's HTTP API (docs/http-api.md)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import httpx

from bot.errors import ServiceRejectedError, ServiceUnavailableError
from costing.units import Carbon, Energy, Money

log = logging.getLogger(__name__)
SourceKind = Literal["console", "discord", "http"]


@dataclass(frozen=True)
class Requester:
    """Who asked: sent along so the service can attribute the cost."""

    kind: SourceKind = "console"
    command: str = "classify"
    guild_id: int | None = None
    channel_id: int | None = None
    user: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The request's `source` object, without empty keys."""
        data = {
            "kind": self.kind,
            "command": self.command,
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
            "user": self.user,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class Prediction:
    """One task's answer: the label, its score, and the runners-up."""

    label: str
    score: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class InferenceCost:
    """What the service measured (or estimated) for one inference."""

    currency: str
    total: Money
    money: Mapping[str, Money]
    provenance: Mapping[str, str]
    latency_ms: float
    energy: Energy
    energy_method: str
    energy_measured: bool
    co2: Carbon


@dataclass(frozen=True)
class Classification:
    """The service's answer for one text."""

    request_id: str
    predictions: Mapping[str, Prediction]
    cost: InferenceCost
    tokens: int = 0
    truncated: bool = False

    def label(self, task: str) -> str:
        """The label of a task, or 'unknown' if the task was not run."""
        found = self.predictions.get(task)
        return found.label if found else "unknown"


@dataclass(frozen=True)
class Readiness:
    """The service's /readyz answer."""

    ready: bool
    detail: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


class ModelServiceClient:
    """Calls the model service; every failure becomes a ServiceUnavailable/Rejected error."""

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, timeout_s: float, token: str | None = None
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_s
        # The service's bearer token: from the environment only, never from a file or a log.
        token = token or os.environ.get("COSTBOT_SERVICE_TOKEN")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def classify(
        self, text: str, *, source: Requester, tasks: tuple[str, ...] = ()
    ) -> Classification:
        """Classify one text; the cost of the inference comes back with the labels."""
        body: dict[str, Any] = {"text": text, "source": source.to_json()}
        if tasks:
            body["tasks"] = list(tasks)
        data = await self._request("POST", "/v1/classify", json=body)
        return parse_classification(data)

    async def models(self) -> Any:
        """The loaded adapters as the service describes them (GET /v1/models)."""
        return await self._request("GET", "/v1/models")

    async def readiness(self) -> Readiness:
        """Whether the service is ready (model loaded, database reachable), with the reason."""
        try:
            response = await self._http.get(f"{self.base_url}/readyz", timeout=self._timeout)
        except httpx.HTTPError as error:
            raise self._unavailable(error) from None
        data = _json_or_empty(response)
        detail = str(data.get("detail") or data.get("reason") or data.get("status") or "")
        return Readiness(ready=response.status_code == 200, detail=detail, extra=data)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(
                method,
                f"{self.base_url}{path}",
                timeout=self._timeout,
                headers=self._headers,
                **kwargs,
            )
        except httpx.HTTPError as error:
            raise self._unavailable(error) from None
        if response.status_code >= 500:
            # The detail may name hosts and paths: it goes to the log, the code to the user.
            log.warning(
                "model service HTTP %s on %s: %s", response.status_code, path, _detail(response)
            )
            code = _json_or_empty(response).get("code")
            raise ServiceUnavailableError(
                self.base_url,
                f"HTTP {response.status_code}" + (f", {code}" if isinstance(code, str) else ""),
                retry_after_s=_retry_after(response),
            )
        if response.status_code >= 400:
            data = _json_or_empty(response)
            raise ServiceRejectedError(_detail(response), code=str(data.get("code", "")))
        return response.json()

    def _unavailable(self, error: httpx.HTTPError) -> ServiceUnavailableError:
        if isinstance(error, httpx.TimeoutException):
            return ServiceUnavailableError(self.base_url, f"no answer within {self._timeout:g}s")
        return ServiceUnavailableError(self.base_url, type(error).__name__)


def parse_classification(data: dict[str, Any]) -> Classification:
    """Turn the JSON of POST /v1/classify (one text) into a Classification."""
    result = data["results"][0]
    predictions = {
        task: Prediction(
            label=str(p["label"]),
            score=float(p["score"]),
            top=tuple((str(t["label"]), float(t["score"])) for t in p.get("top", [])),
        )
        for task, p in result.get("predictions", {}).items()
    }
    return Classification(
        request_id=str(data.get("request_id", "")),
        predictions=MappingProxyType(predictions),
        cost=_parse_cost(result.get("cost", {})),
        tokens=int(result.get("tokens", 0)),
        truncated=bool(result.get("truncated", False)),
    )


def _parse_cost(cost: dict[str, Any]) -> InferenceCost:
    money = {key: Money.from_decimal(str(value)) for key, value in cost.get("money", {}).items()}
    return InferenceCost(
        currency=str(cost.get("currency", "USD")),
        total=money.get("total", sum(money.values(), Money(0))),
        money=MappingProxyType(money),
        provenance=MappingProxyType({k: str(v) for k, v in cost.get("provenance", {}).items()}),
        latency_ms=float(cost.get("latency_ms", 0.0)),
        energy=Energy(int(cost.get("energy_uj", 0))),
        energy_method=str(cost.get("energy_method", "")),
        energy_measured=bool(cost.get("energy_measured", False)),
        co2=Carbon(int(cost.get("co2_ng", 0))),
    )


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _detail(response: httpx.Response) -> str:
    data = _json_or_empty(response)
    detail = data.get("detail")
    if isinstance(detail, list):  # FastAPI's own validation errors
        detail = "; ".join(str(item.get("msg", item)) for item in detail)
    return str(detail or response.reason_phrase or f"HTTP {response.status_code}")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
