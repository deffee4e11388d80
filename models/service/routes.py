"""The HTTP endpoints; they parse, call the service state and render — nothing else."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from models.service.errors import OverloadedError
from models.service.jobs import Origin, TextJob, TextOutcome
from models.service.render import adapter_infos, item_result
from models.service.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    Health,
    ModelsResponse,
    Readiness,
)
from models.service.state import ServiceState
from models.service.validation import checked_tasks, checked_texts
from storage.tables import new_uid

ERRORS = {
    401: {"model": ErrorBody, "description": "No or wrong bearer token (when one is set)."},
    413: {"model": ErrorBody, "description": "The body is larger than any valid request."},
    422: {"model": ErrorBody, "description": "Invalid request (see `code`)."},
    503: {"model": ErrorBody, "description": "Overloaded, loading or shutting down; retry later."},
}
router = APIRouter()


async def get_state(request: Request) -> ServiceState:
    """The app's service state (async: a plain def would cost every request a thread hop)."""
    state: ServiceState = request.app.state.service
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


@router.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS)  # type: ignore[arg-type]
async def classify(body: ClassifyRequest, service: StateDep) -> ClassifyResponse:
    """Classify texts for the requested tasks; each result carries its share of the cost."""
    arrived = time.perf_counter()
    runtime = service.ready_runtime()
    texts = checked_texts(body, service.settings.service)
    tasks = checked_tasks(body.tasks, runtime.model.tasks)
    jobs = _jobs(service, body, texts=texts, tasks=tasks)
    futures = runtime.batcher.submit([(job, job.computed_tokens) for job in jobs])
    service.metrics.queue_depth.set(runtime.batcher.depth)
    outcomes = await _wait(futures, timeout_s=service.settings.service.request_timeout_s)
    latency_s = time.perf_counter() - arrived
    for outcome in outcomes:
        service.metrics.queue_wait.observe(outcome.queue_ms / 1000)
    service.metrics.request_latency.observe(latency_s)
    service.metrics.requests.labels("/v1/classify", "200").inc()
    return ClassifyResponse(
        request_id=jobs[0].origin.request_id,
        results=[
            item_result(job, out, latency_ms=latency_s * 1000)
            for job, out in zip(jobs, outcomes, strict=True)
        ],
    )


async def _wait(
    futures: list[asyncio.Future[TextOutcome]], *, timeout_s: float
) -> list[TextOutcome]:
    try:
        return list(await asyncio.wait_for(asyncio.gather(*futures), timeout_s))
    except TimeoutError:
        raise OverloadedError("timeout", f"no answer within {timeout_s}s") from None


def _jobs(
    service: ServiceState, body: ClassifyRequest, *, texts: list[str], tasks: tuple[str, ...]
) -> list[TextJob]:
    model = service.ready_runtime().model
    source = body.source
    origin = Origin(
        new_uid(),
        source.kind,
        source.command,
        source.guild_id,
        source.channel_id,
        service.hash_user(source.user),
    )
    window = min(model.window(task) for task in tasks)
    return [
        TextJob(origin, index, text, tasks, tokens, min(tokens, window))
        for index, (text, tokens) in enumerate(zip(texts, model.count_tokens(texts), strict=True))
    ]


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: 200 while the process runs."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(service: StateDep) -> Response:
    """Readiness: 200 when the model is loaded and the database answers, else 503 and why."""
    readiness = await service.readiness()
    status = 503 if readiness.status == "not ready" else 200
    return JSONResponse(readiness.model_dump(), status_code=status)


@router.get("/v1/models", response_model=ModelsResponse, responses=ERRORS)  # type: ignore[arg-type]
async def models(service: StateDep) -> ModelsResponse:
    """The loaded model: its tasks, labels, `unknown` rule, metrics and training cost."""
    model = service.ready_runtime().model
    costs = await asyncio.to_thread(service.training_costs)
    return ModelsResponse(
        model_name=model.model_name,
        device=model.device,
        engine=model.engine.engine,
        precision=model.engine.precision,
        engine_reason=model.engine.reason,
        version=model.version,
        operating_point=model.classifier.meta.operating_point,
        adapters=adapter_infos(model, costs.get(("support", model.version))),
    )


@router.get("/metrics", response_class=Response)
async def metrics(service: StateDep) -> Response:
    """Prometheus text format."""
    service.metrics.queue_depth.set(service.queue_depth())
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
