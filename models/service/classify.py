"""POST /v1/classify without a web framework: bytes in, checks, the batcher, bytes out.

The hot path of the service. FastAPI's request and response machinery (dependency solving,
body parsing, response-model validation and serialisation) cost more CPU per request than all
of costbot's own work around the forward pass, so the edge (models/service/edge.py) answers
this route itself through `parse_request` and `classify`; the FastAPI route stays declared for
the OpenAPI document and calls the same two functions. Errors are raised as the service's own
exceptions (InvalidRequestError, OverloadedError) with the codes FastAPI's path gave.
"""

from __future__ import annotations

import asyncio
import email.message
import functools
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from models.service.errors import InvalidRequestError, OverloadedError
from models.service.jobs import Origin, TextJob, TextOutcome
from models.service.render import classify_json
from models.service.schemas import ClassifyRequest
from models.service.state import ServiceState
from models.service.validation import checked_tasks, checked_texts
from storage.tables import new_uid

if TYPE_CHECKING:
    from models.service.model import ServedModel


def parse_request(body: bytes, parsed: Any, content_type: str | None) -> ClassifyRequest:
    """The request, validated as FastAPI validates a body (with a JSON content type, `parsed`:
    the body already parsed as JSON; any other body as bytes); InvalidRequestError
    (`invalid_request`, `invalid_text`) if not."""
    value: Any = parsed if is_json_type(content_type) else body
    try:
        return ClassifyRequest.model_validate(value, from_attributes=True)
    except ValidationError as error:
        raise InvalidRequestError(*describe_validation(error.errors(include_url=False))) from None


@functools.lru_cache(maxsize=64)  # clients send the same few content types
def is_json_type(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this content type as JSON (`application/json`,
    `application/*+json`; none given: no)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def describe_validation(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The code and message of the first validation error (its location without `body`)."""
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "invalid_json", "the body is not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if first.get("type") == "string_unicode":  # an unpaired surrogate, refused while parsing
        return "invalid_text", f"{where}: holds an unpaired surrogate; send plain UTF-8"
    return "invalid_request", f"{where or 'body'}: {first.get('msg', 'invalid')}"


async def classify(service: ServiceState, body: ClassifyRequest) -> bytes:
    """Classify the request's texts for its tasks; the JSON answer, each result with its share
    of the batch's cost. InvalidRequestError or OverloadedError when it cannot."""
    arrived = time.perf_counter()
    runtime = service.ready_runtime()
    texts = checked_texts(body, service.settings.service)
    tasks = checked_tasks(body.tasks, runtime.model.tasks)
    jobs = _jobs(service, runtime.model, body, texts=texts, tasks=tasks)
    futures = runtime.batcher.submit([(job, job.computed_tokens) for job in jobs])
    metrics = service.metrics
    metrics.queue_depth.set(runtime.batcher.depth)
    outcomes = await _wait(futures, timeout_s=service.settings.service.request_timeout_s)
    latency_s = time.perf_counter() - arrived
    for outcome in outcomes:
        metrics.queue_wait.observe(outcome.queue_ms / 1000)
    metrics.request_latency.observe(latency_s)
    metrics.requests.labels("/v1/classify", "200").inc()
    return classify_json(jobs[0].origin.request_id, jobs, outcomes, latency_ms=latency_s * 1000)


async def _wait(
    futures: list[asyncio.Future[TextOutcome]], *, timeout_s: float
) -> list[TextOutcome]:
    """Every text's outcome; on timeout the futures are cancelled (the batcher skips them).
    One text, the usual request, is awaited as it is: a gather and wait_for around it cost
    three more turns of the event loop before the answer can be rendered."""
    try:
        async with asyncio.timeout(timeout_s):
            if len(futures) == 1:
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
    except TimeoutError:
        raise OverloadedError("timeout", f"no answer within {timeout_s}s") from None


def _jobs(
    service: ServiceState,
    model: ServedModel,
    body: ClassifyRequest,
    *,
    texts: list[str],
    tasks: tuple[str, ...],
) -> list[TextJob]:
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
        TextJob(origin, index, text, tasks, len(ids), min(len(ids), window), tuple(ids))
        for index, (text, ids) in enumerate(zip(texts, model.encode(texts), strict=True))
    ]
