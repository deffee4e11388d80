"""The edge: package exceptions become HTTP statuses with a JSON body, here and only here."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from models.service.classify import describe_validation
from models.service.errors import InvalidRequestError, OverloadedError
from models.service.state import ServiceState

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI, state: ServiceState) -> None:
    """Package exceptions become HTTP statuses here, and only here."""

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        code = error.code if isinstance(error, InvalidRequestError) else "invalid_request"
        return _error(state, request, status=422, code=code, detail=str(error))

    async def overloaded(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, OverloadedError)
        headers = {"Retry-After": str(error.retry_after_s)}
        return _error(
            state, request, status=503, code=error.code, detail=str(error), headers=headers
        )

    async def malformed(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        code, detail = describe_validation(error.errors())
        return _error(state, request, status=422, code=code, detail=detail)

    async def internal(request: Request, error: Exception) -> JSONResponse:
        log.error("%s failed", request.url.path, exc_info=error)
        detail = "the service failed on this request; it has been logged, try again"
        return _error(state, request, status=500, code="internal_error", detail=detail)

    app.add_exception_handler(InvalidRequestError, invalid)
    app.add_exception_handler(OverloadedError, overloaded)
    app.add_exception_handler(RequestValidationError, malformed)
    app.add_exception_handler(Exception, internal)  # every 5xx body is JSON with a code


def _error(
    state: ServiceState,
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    state.metrics.rejected.labels(code).inc()
    state.metrics.requests.labels(request.url.path, str(status)).inc()
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)
