"""Turns internal outcomes into the response models of the HTTP contract."""

from __future__ import annotations

from typing import Any

from costing.figures import exact
from models.classifier import TaskPrediction as Prediction
from models.service.jobs import TextJob, TextOutcome
from models.service.model import ServedModel
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
