"""Turns internal outcomes into the documents of the HTTP contract (docs/http-api.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json

from costing.figures import exact
from models.classifier import TaskPrediction as Prediction
from models.service.jobs import TextJob, TextOutcome
from models.service.model import ServedModel
from models.service.schemas import AdapterInfo


def classify_json(
    request_id: str,
    jobs: Sequence[TextJob],
    outcomes: Sequence[TextOutcome],
    *,
    latency_ms: float,
) -> bytes:
    """The ClassifyResponse of a request as JSON bytes, built as plain data and serialised by
    pydantic-core: the same document the response model renders, without validating it again
    (tests/service/test_render.py checks that they agree)."""
    results = [
        _item(job, outcome, latency_ms=latency_ms)
        for job, outcome in zip(jobs, outcomes, strict=True)
    ]
    return to_json({"request_id": request_id, "results": results})


def _item(job: TextJob, outcome: TextOutcome, *, latency_ms: float) -> dict[str, Any]:
    """One text's answer with its cost (an ItemResult)."""
    return {
        "index": job.index,
        "tokens": job.tokens,
        "truncated": job.truncated,
        "predictions": {task: _prediction(p) for task, p in outcome.predictions.items()},
        "cost": _cost(outcome, latency_ms=latency_ms),
    }


def _prediction(prediction: Prediction) -> dict[str, Any]:
    top = [{"label": label, "score": float(score)} for label, score in prediction.top]
    return {"label": prediction.label, "score": float(prediction.score), "top": top}


def _cost(outcome: TextOutcome, *, latency_ms: float) -> dict[str, Any]:
    cost = outcome.cost
    return {
        "latency_ms": round(latency_ms, 3),
        "queue_ms": round(outcome.queue_ms, 3),
        "compute_ms": round(outcome.compute_ms, 3),
        "batch_size": outcome.batch_size,
        "energy_uj": cost.energy_used.microjoules,
        "energy_method": outcome.energy_method,
        "energy_measured": outcome.energy_measured,
        "currency": outcome.currency,
        "money": {
            "compute": exact(cost.compute),
            "energy": exact(cost.energy),
            "hardware": exact(cost.hardware),
            "data": exact(cost.data),
            "total": exact(cost.total),
        },
        "co2_ng": cost.co2.nanograms,
        "provenance": cost.provenance,
    }


def adapter_infos(model: ServedModel, training_cost: dict[str, Any] | None) -> list[AdapterInfo]:
    """What /v1/models says about each task of the loaded model."""
    meta = model.classifier.meta
    return [
        AdapterInfo(
            task=task,
            labels=list(spec.labels),
            version=model.version,
            threshold=spec.threshold,
            margin=spec.margin,
            rule=spec.rule,
            base_model=meta.base_model,
            max_length=meta.max_length,
            metrics=_headline(model.metrics.get(task, {})),
            training_cost=training_cost,
        )
        for task, spec in meta.tasks.items()
    ]


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """Scalar held-out figures of a task (per corpus for sentiment)."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, int | float):
            flat[key] = value
        elif isinstance(value, dict) and "accuracy" in value:
            flat[f"{key}_accuracy"] = value["accuracy"]
            flat[f"{key}_macro_f1"] = value["macro_f1"]
    return flat
