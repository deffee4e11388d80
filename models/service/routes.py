"""The HTTP endpoints; they parse, call the service state and render — nothing else."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from models.service.classify import classify as classify_texts
from models.service.render import adapter_infos
from models.service.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    Health,
    ModelsResponse,
    Readiness,
)
from models.service.state import ServiceState

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


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    responses=ERRORS,  # type: ignore[arg-type]
)
async def classify(body: ClassifyRequest, service: StateDep) -> Response:
    """Classify texts for the requested tasks; each result carries its share of the cost."""
    # Declared here for the OpenAPI document (the docstring is its description); the edge
    # answers this route itself with the same functions, without FastAPI's per-request work.
    return Response(await classify_texts(service, body), media_type="application/json")


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
