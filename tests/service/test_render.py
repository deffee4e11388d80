"""The classify answer is rendered as plain data (no response model on the hot path): it must be
the very document the declared ClassifyResponse model renders."""

from __future__ import annotations

import json

from costing.cost_model import price_measurement, split_cost
from costing.measurement import Measurement
from costing.prices import Prices
from costing.settings import PriceSettings
from models.classifier import TaskPrediction
from models.service.jobs import Origin, TextJob, TextOutcome
from models.service.render import classify_json
from models.service.schemas import ClassifyResponse


def _outcomes() -> tuple[list[TextJob], list[TextOutcome]]:
    origin = Origin("r" * 32, "discord", "classify", 1, 2, "hash")
    jobs = [
        TextJob(origin, 0, "my card", ("intent", "sentiment"), 5, 5),
        TextJob(origin, 1, "long " * 99, ("intent", "sentiment"), 120, 64),
    ]
    measurement = Measurement(wall_s=0.0031234, cpu_s=0.0052345)
    cost = price_measurement(measurement, Prices.from_settings(PriceSettings()))
    parts = split_cost(cost, [job.weight for job in jobs])
    intent = TaskPrediction("card_arrival", 0.971234, [("card_arrival", 0.971234)], False)
    sentiment = TaskPrediction("neutral", 0.5, [("neutral", 0.5), ("negative", 0.25)], True)
    outcomes = [
        TextOutcome(
            predictions={"intent": intent, "sentiment": sentiment},
            cost=part,
            currency="USD",
            queue_ms=0.123456,
            compute_ms=3.1234,
            batch_size=2,
            energy_method=measurement.energy_method,
            energy_measured=False,
        )
        for part in parts
    ]
    return jobs, outcomes


def test_the_rendered_answer_is_what_the_response_model_renders() -> None:
    jobs, outcomes = _outcomes()
    rendered = classify_json("r" * 32, jobs, outcomes, latency_ms=4.56789)
    model = ClassifyResponse.model_validate_json(rendered)
    assert model.model_dump_json().encode() == rendered
    data = json.loads(rendered)
    assert [item["truncated"] for item in data["results"]] == [False, True]
    assert data["results"][0]["cost"]["latency_ms"] == 4.568
    assert data["results"][1]["predictions"]["sentiment"]["top"][1] == {
        "label": "negative",
        "score": 0.25,
    }
