"""What a training run cost: metered, priced, stored as a TrainingRun and kept beside the adapter.

The adapter directory carries its run as ``training_run.json`` so that any deployment serving the
adapter can register the one-off cost in its own database (idempotently, by the run's uid) and
amortise it into ROI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from costing.cost_model import price_measurement
from costing.measurement import Measurement
from costing.prices import Prices
from costing.settings import MeterSettings, PriceSettings
from models.dataset_cost import dataset_entries
from models.metering import device_meter
from storage.tables import TrainingRun
from storage.types import utc_now
from storage.writer import RecordWriter

TRAINING_RUN_FILE = "training_run.json"
WEIGHT_FILES = ("adapter_model.safetensors", "heads.safetensors")


def adapter_version(path: Path) -> str:
    """A content hash of the adapter's weights: changes whenever the adapter does."""
    digest = hashlib.sha256()
    for name in WEIGHT_FILES:
        weights = path / name
        if weights.is_file():
            digest.update(weights.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class TrainingWindow:
    """Filled in when the metered block ends."""

    started_at: datetime = field(default_factory=utc_now)
    measurement: Measurement | None = None


@contextmanager
def metered(device: str, power: MeterSettings) -> Iterator[TrainingWindow]:
    """Meter a whole training run on `device` (CPU time and energy, by the best meter there is)."""
    meter = device_meter(device, power)
    window = TrainingWindow()
    token = meter.start()
    try:
        yield window
    finally:
        window.measurement = meter.stop(token)
        meter.close()


def training_run(
    *,
    task: str,
    adapter_dir: Path,
    window: TrainingWindow,
    prices: PriceSettings,
    details: dict[str, Any],
) -> TrainingRun:
    """The TrainingRun for a finished, metered run, priced with `prices`."""
    measurement = window.measurement
    if measurement is None:
        raise ValueError("the training window has not been closed")
    sheet = Prices.from_settings(prices)
    # Annotation is a cost of each dataset version (charged once by reports), not of the run.
    corpora = details.get("metrics", {}).get("corpora", {})
    cost = price_measurement(measurement, sheet)
    columns: dict[str, Any] = {
        "started_at": window.started_at,
        "finished_at": utc_now(),
        "task": task,
        "adapter_version": adapter_version(adapter_dir),
        "adapter_path": str(adapter_dir),
        "device": measurement.device,
        "wall_s": measurement.wall_s,
        "cpu_s": measurement.cpu_s,
        "gpu_s": measurement.gpu_s,
        "energy_method": measurement.energy_method,
        **cost.record_columns(),
        "currency": sheet.currency,
        "datasets": dataset_entries(list(corpora), sheet),
        **details,
    }
    return TrainingRun(**columns)


def run_details(result: Any) -> dict[str, Any]:
    """TrainingRun columns taken from a models.train.TrainingResult."""
    recipe = result.recipe
    corpora = result.metrics.get("corpora", {})
    return {
        "base_model": result.base_model,
        "data_path": ",".join(sorted(corpora))[:500],
        "data_rows": result.n_train_rows + result.n_held_out_rows,
        "labels_count": sum(len(t.labels) for t in result.meta.tasks.values()),
        "epochs": len(result.history),
        "lora_r": recipe.lora_r,
        "metrics": result.metrics,
        "recipe": asdict(recipe),
    }


def save_training_run(run: TrainingRun, adapter_dir: Path) -> Path:
    """Keep the run beside the adapter, so deployments can register its cost."""
    path = adapter_dir / TRAINING_RUN_FILE
    path.write_text(json.dumps(run.model_dump(mode="json", exclude={"id"}), indent=2) + "\n")
    return path


def load_training_run(adapter_dir: Path) -> TrainingRun | None:
    """The run kept beside an adapter, if it has one."""
    path = adapter_dir / TRAINING_RUN_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    for key in ("started_at", "finished_at"):
        data[key] = datetime.fromisoformat(data[key])
    return TrainingRun(**data)


def register_training_run(writer: RecordWriter, model_dir: Path) -> bool:
    """Submit the model's kept run, if any; the uid makes a second registration a no-op."""
    run = load_training_run(model_dir)
    if run is not None:
        writer.submit(run)
    return run is not None
