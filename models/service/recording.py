"""One InferenceRecord per served inference, through the RecordWriter; never fails a request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from costing.measurement import Measurement
from costing.repricing import time_shares
from models.classifier import TaskPrediction
from models.service.jobs import TextJob, TextOutcome
from models.service.model import ServedModel
from storage.errors import WriterClosedError
from storage.tables import new_uid
from storage.writer import RecordWriter

log = logging.getLogger(__name__)
TABLE = "inference_record"


class Recorder:
    """Builds record rows for a finished batch and submits them to the writer."""

    def __init__(
        self, writer: RecordWriter | None, *, model: ServedModel, store_text: bool, lost: Counter
    ) -> None:
        self._writer = writer
        self._store_text = store_text
        self._lost = lost
        self._model_columns = {  # the same on every row: computed once
            "model_name": model.model_name[:200],
            "model_version": model.model_version,
            "adapter_versions": model.adapter_versions[:200],
            "device": model.device,
        }

    def record(
        self,
        batch: Sequence[tuple[TextJob, TextOutcome]],
        *,
        batch_id: str,
        created_at: datetime,
        price_sheet_id: int | None,
        measurement: Measurement | None = None,
    ) -> None:
        """Submit one row per text, with this replica's id and the text's share of the batch's
        times; a failure is logged and counted, never raised."""
        if self._writer is None:
            return
        shared = {
            **self._model_columns,
            "created_at": created_at,
            "batch_id": batch_id,
            "price_sheet_id": price_sheet_id,
            "replica_id": self._writer.replica_id,
        }
        shares = _shares(measurement, [job.weight for job, _ in batch])
        rows = [
            {**shared, **self._row(job, outcome), **share}
            for (job, outcome), share in zip(batch, shares, strict=True)
        ]
        try:
            self._writer.submit_many(TABLE, rows)
        except (WriterClosedError, OSError, ValueError) as error:
            self._lost.inc(len(rows))
            log.error("%d inference records lost (%s): %s", len(rows), type(error).__name__, error)

    def _row(self, job: TextJob, outcome: TextOutcome) -> dict[str, Any]:
        """The columns of one text's row that are its own."""
        origin = job.origin
        return {
            "uid": new_uid(),
            "request_id": origin.request_id,
            "tasks": ",".join(job.tasks),
            "source_kind": origin.kind,
            "command": origin.command,
            "guild_id": origin.guild_id,
            "channel_id": origin.channel_id,
            "user_hash": origin.user_hash,
            "input_chars": len(job.text),
            "input_tokens": job.tokens,
            "truncated": job.truncated,
            "predictions": {t: _compact(p) for t, p in outcome.predictions.items()},
            "queue_ms": round(outcome.queue_ms, 3),
            "compute_ms": round(outcome.compute_ms, 3),
            "batch_size": outcome.batch_size,
            "energy_method": outcome.energy_method[:32],
            **outcome.cost.record_columns(),
            "text": job.text if self._store_text else None,
        }


def _shares(measurement: Measurement | None, weights: list[int]) -> list[dict[str, int]]:
    """Each text's share of the batch's times (none measured: zero shares)."""
    if measurement is None or not weights:
        return [{} for _ in weights]
    return time_shares(measurement, weights)


def _compact(prediction: TaskPrediction) -> dict[str, Any]:
    """The stored form of one task prediction: label, score and the top labels."""
    return {"label": prediction.label, "score": prediction.score, "top": list(prediction.top)}


class WriterCollector(Collector):
    """The record writer's counters in /metrics: written, spooled, quarantined, torn, unkept."""

    def __init__(self, writer: Callable[[], RecordWriter | None]) -> None:
        self._writer = writer

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """One sample per counter, read when /metrics is scraped."""
        writer = self._writer()
        stats = writer.stats if writer is not None else None
        for name, doc in _WRITER_COUNTERS.items():
            family = CounterMetricFamily(f"costbot_writer_{name}", doc)
            family.add_metric([], getattr(stats, name, 0))
            yield family
        cpu = CounterMetricFamily(
            "costbot_writer_cpu_seconds", "CPU the writer thread spent writing records."
        )
        cpu.add_metric([], stats.cpu_s if stats is not None else 0.0)
        yield cpu
        depth = GaugeMetricFamily("costbot_writer_queued_rows", "Records waiting to be written.")
        depth.add_metric([], writer.queue_depth if writer is not None else 0)
        yield depth


_WRITER_COUNTERS = {
    "written": "Records the writer inserted.",
    "spooled": "Records written to the spool file (database down, hung or queue full).",
    "replayed": "Spooled records replayed into the database.",
    "quarantined": "Records the database refused, kept in the quarantine file.",
    "torn_lines": "Unreadable spool lines set aside in the .torn file.",
    "lost": "Records that could be neither written nor spooled (a disk failure).",
}
