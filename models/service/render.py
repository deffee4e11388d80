"""Turns internal outcomes into the response models of the HTTP contract."""

from __future__ import annotations

from typing import Any

from costing.figures import exact
from models.classifier import TaskPrediction as Prediction
from models.service.jobs import TextJob, TextOutcome
from models.service.model import Adapter
from models.service.schemas import (
    AdapterInfo,
    Cost,
    ItemResult,
    LabelScore,
    MoneyParts,
    TaskPrediction,
)


def item_result(job: TextJob, outcome: TextOutcome, *, latency_ms: float) -> ItemResult:
    """One text's answer with its cost."""
    return ItemResult(
        index=job.index,
        tokens=job.tokens,
        truncated=job.truncated,
        predictions={task: _prediction(p) for task, p in outcome.predictions.items()},
        cost=_cost(outcome, latency_ms=latency_ms),
    )


def _prediction(prediction: Prediction) -> TaskPrediction:
    top = [LabelScore(label=label, score=score) for label, score in prediction.top]
    return TaskPrediction(label=prediction.label, score=prediction.score, top=top)


def _cost(outcome: TextOutcome, *, latency_ms: float) -> Cost:
    cost = outcome.cost
    return Cost(
        latency_ms=round(latency_ms, 3),
        queue_ms=round(outcome.queue_ms, 3),
        compute_ms=round(outcome.compute_ms, 3),
        batch_size=outcome.batch_size,
        energy_uj=cost.energy_used.microjoules,
        energy_method=outcome.energy_method,
        energy_measured=outcome.energy_measured,
        currency=outcome.currency,
        money=MoneyParts(
            compute=exact(cost.compute),
            energy=exact(cost.energy),
            hardware=exact(cost.hardware),
            data=exact(cost.data),
            total=exact(cost.total),
        ),
        co2_ng=cost.co2.nanograms,
        provenance=cost.provenance,
    )


def adapter_info(adapter: Adapter, training_cost: dict[str, Any] | None) -> AdapterInfo:
    """What /v1/models says about one adapter."""
    meta = adapter.meta
    keep = ("accuracy", "macro_f1", "accuracy_with_threshold", "unknown_rate_with_threshold", "n")
    return AdapterInfo(
        task=adapter.task,
        labels=list(meta.labels),
        version=adapter.version,
        threshold=meta.threshold,
        base_model=meta.base_model,
        max_length=meta.max_length,
        metrics={k: adapter.metrics[k] for k in keep if k in adapter.metrics},
        training_cost=training_cost or adapter.metrics.get("training_cost"),
    )
