"""What a served text's own Python steps cost right after a forward, against the same steps warm.

    python -m benchmarks.service.cold_after_forward [--texts 300] [--out results.jsonl]

At one request at a time every request's steps (parse and validate the body, count its
tokens, draw its ids; meter, price and split a batch of one) run just after a forward pass,
which streams the encoder's weights through the caches. Each step is timed once right after a
served forward (`cold`) and once again straight after (`warm`), on the same BANKING77 texts;
one JSON line per step with the medians in microseconds. It explains why costbot's work around
the forward costs more wall time per request than its CPU profile suggests, and why the lean
ONNX Runtime peer, doing less of it, answers a lone text first.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.record import machine, write_lines
from benchmarks.service.forward_limit import forward_parser, served_forward
from benchmarks.service.harness import banking_texts
from benchmarks.service.load import bodies_from_texts
from costing.cost_model import split_cost
from costing.prices import Prices
from costing.settings import MeterSettings, PriceSettings
from models.encoder import normalize
from models.metering import device_meter
from models.onnx_engine import pad
from models.service.model import counting_tokenizer
from models.service.pricing import BatchPricer
from models.service.schemas import ClassifyRequest
from storage.tables import new_uid
from storage.types import utc_now


def steps(classifier: Any, texts: list[str]) -> dict[str, Callable[[int], object]]:
    """{name: step(i)} for the i-th text: the per-request steps of the service's hot path."""
    bodies = bodies_from_texts(texts)
    counter = counting_tokenizer(classifier.tokenizer)
    assert counter is not None, "the served tokenizer has a fast backend"
    return {
        "parse_and_validate_body": lambda i: ClassifyRequest.model_validate(json.loads(bodies[i])),
        "count_tokens": lambda i: counter.encode(normalize(texts[i])).ids,
        "new_uid": lambda i: new_uid(),
        "utc_now": lambda i: utc_now(),
        "meter_price_split": partial(_meter_price_split, *_costing()),
    }


def _costing() -> tuple[Any, BatchPricer]:
    """The served CPU meter and a pricer on the default price settings."""
    return device_meter("cpu", MeterSettings()), BatchPricer(
        None, fallback=Prices.from_settings(PriceSettings())
    )


def _meter_price_split(meter: Any, pricer: BatchPricer, i: int) -> object:
    """A batch of one's costing: a meter window, its price, the text's share."""
    measurement = meter.stop(meter.start())
    return split_cost(pricer.price(measurement, at=utc_now()).cost, [16])


def measure(texts: int, model: Any, cache: Any) -> list[dict[str, Any]]:
    """One line per step: median µs right after a forward and warm."""
    classifier, forward = served_forward(model, cache)
    found = banking_texts(texts)
    feeds = [pad([ids], classifier.pad_id) for ids in classifier.tokenizer(found)["input_ids"]]
    lines = []
    for name, step in steps(classifier, found).items():
        cold, warm = [], []
        for i in range(len(found)):
            forward.logits(*feeds[i], classifier.tasks)
            cold.append(_timed(step, i))
            warm.append(_timed(step, i))
        lines.append(_line(name, cold, warm))
    return lines


def _timed(step: Callable[[int], object], i: int) -> float:
    started = time.perf_counter()
    step(i)
    return (time.perf_counter() - started) * 1e6


def _line(name: str, cold: list[float], warm: list[float]) -> dict[str, Any]:
    after, again = statistics.median(cold), statistics.median(warm)
    return {
        "bench": "cold_after_forward",
        "step": name,
        "calls": len(cold),
        "after_forward_us": round(after, 1),
        "warm_us": round(again, 1),
        "ratio": round(after / again, 1),
    }


def main() -> None:
    """Measure and print/append one line per step."""
    parser = forward_parser(__doc__, repeats=1)
    args = parser.parse_args()
    started_on = machine()
    write_lines(args.out, measure(args.texts, args.model, args.cache), started_on)


if __name__ == "__main__":
    main()
