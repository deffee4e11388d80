"""One batch in the worker thread: forward pass under the meter, price, split, record."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal, TypeVar

import torch

from costing.cost_model import CostBreakdown, split_cost
from costing.measurement import Measurement
from models.classifier import Rule, TaskPrediction
from models.service.batcher import Pending
from models.service.jobs import TextJob, TextOutcome
from models.service.metrics import ServiceMetrics
from models.service.model import ServedModel
from models.service.pricing import BatchPricer, PricedBatch
from models.service.recording import Recorder
from storage.tables import new_uid
from storage.types import utc_now

T = TypeVar("T")
Measure = Callable[[Callable[[], T]], tuple[T, Measurement]]
Answers = list[dict[str, TaskPrediction]]
Precision = Literal["fp32", "bf16"]


@dataclass(frozen=True)
class RunnerConfig:
    """How a batch is computed: rows per padded bucket, `unknown` rules by task, precision."""

    bucket_size: int = 16
    rules: Mapping[str, Rule] | None = None
    precision: Precision = "fp32"


class BatchRunner:
    """Callable run by the batcher's worker thread for each batch."""

    def __init__(
        self,
        *,
        model: ServedModel,
        measure: Measure[Answers],
        pricer: BatchPricer,
        recorder: Recorder,
        metrics: ServiceMetrics,
        config: RunnerConfig,
    ) -> None:
        self._model = model
        self._measure = measure
        self._pricer = pricer
        self._recorder = recorder
        self._metrics = metrics
        self._config = config

    def __call__(self, batch: Sequence[Pending[TextJob, TextOutcome]]) -> list[TextOutcome]:
        """Compute, meter, price and record one batch; return each text's outcome."""
        started, cpu_started = time.perf_counter(), time.thread_time()
        jobs = [item.payload for item in batch]
        forward = _Stopwatch()
        answers, measurement = self._measure(lambda: forward.time(lambda: self._forward(jobs)))
        created_at = utc_now()
        priced = self._pricer.price(measurement, at=created_at)
        outcomes = _outcomes(batch, answers, priced, measurement, started=started)
        self._recorder.record(
            list(zip(jobs, outcomes, strict=True)),
            batch_id=new_uid(),
            created_at=created_at,
            price_sheet_id=priced.price_sheet_id,
            measurement=measurement,
        )
        overhead_s = time.perf_counter() - started - forward.seconds
        self._observe(jobs, priced, measurement, overhead_s=overhead_s)
        costing_cpu_s = time.thread_time() - cpu_started - forward.cpu_s
        self._metrics.costing_cpu.inc(max(0.0, costing_cpu_s))
        return outcomes

    def _forward(self, jobs: Sequence[TextJob]) -> Answers:
        """Run each task over the texts that asked for it (the meter synchronises the device)."""
        answers: Answers = [{} for _ in jobs]
        with _autocast(self._config.precision, self._model.classifier.device):
            self._forward_tasks(jobs, answers)
        return answers

    def _forward_tasks(self, jobs: Sequence[TextJob], answers: Answers) -> None:
        """One encoder forward per bucket for the whole batch; each job keeps its own tasks."""
        tasks = sorted({task for job in jobs for task in job.tasks})
        predictions = self._model.classifier.predict(
            [job.text for job in jobs],
            tasks=tasks,
            rules=self._config.rules,
            batch_size=self._config.bucket_size,
            full_ids=_full_ids(jobs),
        )
        for job, answer, prediction in zip(jobs, answers, predictions, strict=True):
            for task in job.tasks:
                answer[task] = prediction.tasks[task]

    def _observe(
        self,
        jobs: Sequence[TextJob],
        priced: PricedBatch,
        measurement: Measurement,
        *,
        overhead_s: float,
    ) -> None:
        metrics = self._metrics
        metrics.batch_size.observe(len(jobs))
        metrics.batch_tokens.observe(sum(job.weight for job in jobs))
        metrics.compute.observe(measurement.wall_s)
        metrics.metering_overhead.observe(overhead_s)
        for component, amount in priced.cost.record_columns().items():
            if component.startswith("cost_") and amount:
                name = component.removeprefix("cost_").removesuffix("_pico")
                metrics.cost_pico.labels(name, priced.currency).inc(amount)
        metrics.energy_uj.inc(priced.cost.energy_used.microjoules)
        for reading in measurement.readings:
            if reading.fallback is not None:
                metrics.meter_fallbacks.labels(reading.component, reading.fallback).inc()
        metrics.co2_ng.inc(priced.cost.co2.nanograms)
        for task, count in Counter(task for job in jobs for task in job.tasks).items():
            metrics.texts.labels(task).inc(count)  # one labelled child looked up per task


class _Stopwatch:
    """Times one call (wall and this thread's CPU), so the metering overhead and the costing
    CPU are everything in a batch but the forward pass."""

    seconds = 0.0
    cpu_s = 0.0

    def time(self, work: Callable[[], T]) -> T:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return work()
        finally:
            self.seconds = time.perf_counter() - started
            self.cpu_s = time.thread_time() - cpu_started


def _autocast(precision: Precision, device: torch.device) -> AbstractContextManager[object]:
    """bf16: matrix products in bfloat16 under autocast (AMX / AVX-512 BF16 on recent x86)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def _outcomes(
    batch: Sequence[Pending[TextJob, TextOutcome]],
    answers: Answers,
    priced: PricedBatch,
    measurement: Measurement,
    *,
    started: float,
) -> list[TextOutcome]:
    """Each text's answer with its share of the batch's cost (split by weight, in tokens)."""
    parts = split_cost(priced.cost, [item.payload.weight for item in batch])
    return [
        _outcome(
            answer,
            part,
            priced=priced,
            measurement=measurement,
            queue_ms=(started - item.arrived) * 1000,
            batch_size=len(batch),
        )
        for item, answer, part in zip(batch, answers, parts, strict=True)
    ]


def _outcome(
    answer: dict[str, TaskPrediction],
    part: CostBreakdown,
    *,
    priced: PricedBatch,
    measurement: Measurement,
    queue_ms: float,
    batch_size: int,
) -> TextOutcome:
    return TextOutcome(
        predictions=answer,
        cost=part,
        currency=priced.currency,
        queue_ms=queue_ms,
        compute_ms=measurement.wall_s * 1000,
        batch_size=batch_size,
        energy_method=measurement.energy_method,
        energy_measured=measurement.energy_measured,
    )


def _full_ids(jobs: Sequence[TextJob]) -> list[tuple[int, ...]] | None:
    """Every job's untruncated token ids, or None if one was queued without them."""
    found = [job.ids for job in jobs if job.ids is not None]
    return found if len(found) == len(jobs) else None
