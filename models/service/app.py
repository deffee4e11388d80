"""``create_app(settings, ...)``: the FastAPI app, its lifespan (load, drain, flush) and errors."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from costing.prices import PriceBook, Prices, sync_from_settings
from models.classifier import Rule
from models.errors import ModelError
from models.metering import device_meter
from models.service.batcher import BatchPolicy, MicroBatcher
from models.service.edge import EdgeGuard, UnprotectedServiceError, is_loopback, max_body_bytes
from models.service.handlers import install_error_handlers
from models.service.identity import resolve_salt
from models.service.metering import measured, unmetered
from models.service.metrics import create_metrics
from models.service.model import ServedModel, load_served_model, model_dir
from models.service.pricing import BatchPricer, PriceRefresher
from models.service.recording import Recorder, WriterCollector
from models.service.routes import router
from models.service.runner import BatchRunner, Precision, RunnerConfig
from models.service.schemas import MAX_ID
from models.service.settings import ServiceConfig, ServiceSettings
from models.service.state import Runtime, ServiceState
from models.training_cost import register_training_run
from storage.db import create_db_engine, session_factory
from storage.types import utc_now
from storage.writer import RecordWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    """Knobs not (yet) in the settings: rows per padded bucket, precision, costing on/off."""

    bucket_size: int = 16
    precision: Precision | None = None  # None: as the engine chose (service.precision)
    record_costs: bool = True


DESCRIPTION = "Classifies support messages (intent, sentiment) and measures what each answer costs."


def create_app(
    settings: ServiceConfig,
    *,
    model: ServedModel | None = None,
    engine: Engine | None = None,
    options: ServeOptions | None = None,
) -> FastAPI:
    """The model service; loads `model` from settings in the background unless one is given."""
    state = ServiceState(
        settings=settings,
        metrics=create_metrics(),
        engine=engine or create_db_engine(settings.database),
        salt=resolve_salt(settings),
    )
    lifespan = _lifespan(
        state,
        model=model,
        options=options or ServeOptions(),
        owns_engine=engine is None,
    )
    app = FastAPI(title="costbot model service", description=DESCRIPTION, lifespan=lifespan)
    app.state.service = state
    state.metrics.registry.register(WriterCollector(lambda: state.writer))
    app.include_router(router)
    install_error_handlers(app, state)
    _guard_edge(app, state)
    return app


def _guard_edge(app: FastAPI, state: ServiceState) -> None:
    """Token, body cap, JSON check and draining before any route; limits in the OpenAPI."""
    service = state.settings.service
    token = state.settings.service_token()
    if token is None and not is_loopback(service.host):
        raise UnprotectedServiceError(service.host)
    app.add_middleware(EdgeGuard, max_body_bytes=max_body_bytes(service), token=token, state=state)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.openapi = _openapi_with_limits(app, service)  # type: ignore[method-assign]


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors (404, 405, a body it cannot parse) in the JSON shape with a code."""
    assert isinstance(error, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 400: "invalid_json"}
    status = 422 if error.status_code == 400 else error.status_code
    code = codes.get(error.status_code, "http_error")
    body = {"detail": str(error.detail), "code": code}
    return JSONResponse(body, status_code=status, headers=error.headers)


def _openapi_with_limits(app: FastAPI, service: ServiceSettings) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with the configured limits (texts, characters) written in."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            request = schema["components"]["schemas"]["ClassifyRequest"]["properties"]
            for branch in request["texts"].get("anyOf", [request["texts"]]):
                if branch.get("type") == "array":
                    branch["maxItems"] = service.max_texts_per_request
                    branch["minItems"] = 1
                    branch["items"]["maxLength"] = service.max_text_chars
            for branch in request["text"].get("anyOf", [request["text"]]):
                if branch.get("type") == "string":
                    branch["maxLength"] = service.max_text_chars
            requester = schema["components"]["schemas"]["Requester"]["properties"]
            for name in ("guild_id", "channel_id"):  # exact integers, not their float rendering
                for branch in requester[name].get("anyOf", [requester[name]]):
                    if branch.get("type") == "integer":
                        branch["minimum"], branch["maximum"] = 0, MAX_ID
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def _lifespan(
    state: ServiceState, *, model: ServedModel | None, options: ServeOptions, owns_engine: bool
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        writer = RecordWriter(state.engine, state.settings.database, role="service")
        state.writer = writer.start()
        state.pricer = _pricer(state)
        refresher = PriceRefresher(
            state.pricer,
            interval_s=state.settings.service.price_refresh_s,
            first=lambda: _sync_prices(state),
        ).start()
        # Prices from the database when it answers soon; else the configured ones meanwhile.
        wait_s = state.settings.database.connect_timeout_s + 1.0
        await asyncio.to_thread(state.pricer.attempted.wait, wait_s)
        loading = asyncio.create_task(_load(state, model=model, options=options))
        try:
            yield
        finally:
            refresher.stop()
            await _shutdown(state, loading, owns_engine=owns_engine)

    return lifespan


def _pricer(state: ServiceState) -> BatchPricer:
    factory = session_factory(state.engine)
    prices = state.settings.prices

    def load() -> PriceBook:
        return PriceBook(factory, defaults=prices, ttl_s=float("inf"))

    return BatchPricer(load, fallback=Prices.from_settings(prices))


def _sync_prices(state: ServiceState) -> None:
    """The settings' prices are stored as a version when they changed."""
    factory = session_factory(state.engine)
    sync_from_settings(factory, settings=state.settings.prices, now=utc_now())


def freeze_heap() -> None:
    """Move every object alive now (torch, transformers, the model: 572,223 objects) out of
    the collector's reach, so a full collection scans only what serving allocates: over that
    heap one full collection took 282-311 ms here (2-core EPYC, timed with gc.callbacks), a
    pause for every request in flight whenever it recurs. (Python docs, gc.freeze.)"""
    gc.collect()
    gc.freeze()


async def _load(state: ServiceState, *, model: ServedModel | None, options: ServeOptions) -> None:
    served = model
    try:
        if served is None:
            served = await asyncio.to_thread(load_served_model, state.settings.service)
    except (ModelError, OSError) as error:
        state.load_error = f"model failed to load: {error}"
        log.error(state.load_error)
        return
    state.runtime = _runtime(state, model=served, options=options)
    state.runtime.batcher.start()
    if model is None:  # a process of its own: nothing loaded so far will become garbage
        freeze_heap()
    writer = state.writer if model is None else None
    if writer is not None and register_training_run(writer, model_dir(state.settings.service)):
        log.info("registered the model's training run (a one-off cost for ROI)")
    engine = served.engine
    log.info(
        "model service ready: %s on %s, engine %s %s (%s)",
        served.adapter_versions,
        served.device,
        engine.engine,
        engine.precision,
        engine.reason,
    )


def _runtime(state: ServiceState, *, model: ServedModel, options: ServeOptions) -> Runtime:
    settings = state.settings
    threshold = settings.service.unknown_threshold
    own = model.classifier.rule("intent")
    rules = None if threshold is None else {"intent": Rule(threshold, own.margin)}
    precision = options.precision
    if precision is None:  # torch autocasts to bf16 only where the engine chose it
        precision = "bf16" if model.engine.precision == "bf16" else "fp32"
    config = RunnerConfig(bucket_size=options.bucket_size, rules=rules, precision=precision)
    meter = device_meter(model.device, settings.meter)
    runner = BatchRunner(
        model=model,
        measure=measured(meter) if options.record_costs else unmetered,
        pricer=state.pricer or BatchPricer(None, fallback=Prices.from_settings(settings.prices)),
        recorder=Recorder(
            state.writer if options.record_costs else None,
            model=model,
            store_text=settings.service.store_text,
            lost=state.metrics.records_lost,
        ),
        metrics=state.metrics,
        config=config,
    )
    service = settings.service
    policy = BatchPolicy(
        service.max_batch_size,
        service.max_batch_tokens,
        service.max_wait_ms,
        service.queue_limit,
        service.batch_linger_ms,
    )
    return Runtime(model, MicroBatcher(runner, policy), meter)


async def _shutdown(state: ServiceState, loading: asyncio.Task[None], *, owns_engine: bool) -> None:
    """Drain in-flight batches, then flush and close the writer."""
    if not loading.done():
        loading.cancel()
    if state.runtime is not None:
        await state.runtime.batcher.drain()
        state.runtime.meter.close()
    if state.writer is not None:
        await asyncio.to_thread(state.writer.close)
        log.info("record writer closed: %s", state.writer.stats)
    if owns_engine:
        state.engine.dispose()
