"""What one app holds while it runs: settings, metrics, the database and, once loaded, the model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from costing.metering import CostMeter
from models.service.batcher import MicroBatcher
from models.service.errors import OverloadedError
from models.service.identity import hash_user
from models.service.jobs import TextJob, TextOutcome
from models.service.metrics import ServiceMetrics
from models.service.model import ServedModel
from models.service.schemas import Readiness
from models.service.settings import ServiceConfig
from storage.db import check_connection, session_factory, session_scope
from storage.errors import StorageUnavailableError
from storage.tables import TrainingRun
from storage.writer import RecordWriter

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The loaded model and the batcher that feeds it."""

    model: ServedModel
    batcher: MicroBatcher[TextJob, TextOutcome]
    meter: CostMeter


@dataclass
class ServiceState:
    """Everything the endpoints need; built by create_app, filled in by the lifespan."""

    settings: ServiceConfig
    metrics: ServiceMetrics
    engine: Engine
    salt: bytes
    writer: RecordWriter | None = None
    runtime: Runtime | None = None
    load_error: str = ""

    def ready_runtime(self) -> Runtime:
        """The runtime, or OverloadedError while the model loads (or failed to)."""
        if self.runtime is None:
            reason = self.load_error or "the model is still loading"
            raise OverloadedError("model_not_ready", reason, retry_after_s=5)
        return self.runtime

    def hash_user(self, user: str | None) -> str | None:
        """The stored form of a user id."""
        return hash_user(self.salt, user)

    def queue_depth(self) -> int:
        """Texts waiting for a batch."""
        return self.runtime.batcher.depth if self.runtime is not None else 0

    def readiness(self) -> Readiness:
        """Whether the model is loaded and the database answers (blocking: call off the loop)."""
        database, reason = True, ""
        try:
            check_connection(self.engine)
        except StorageUnavailableError as error:
            database, reason = False, str(error)
        loaded = self.runtime is not None
        if not loaded:
            reason = self.load_error or "the model is still loading"
        status = "ready" if loaded and database else "not ready"
        return Readiness(status=status, model_loaded=loaded, database=database, reason=reason)

    def training_costs(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Measured training cost per (task, adapter version), from the TrainingRun table."""
        try:
            with session_scope(session_factory(self.engine)) as session:
                runs = session.exec(select(TrainingRun).order_by(col(TrainingRun.started_at)))
                return {(run.task, run.adapter_version): _training_cost(run) for run in runs}
        except SQLAlchemyError as error:
            log.warning("training costs unavailable: %s", type(error).__name__)
            return {}


def _training_cost(run: TrainingRun) -> dict[str, Any]:
    money = {
        "compute_pico": run.cost_compute_pico,
        "energy_pico": run.cost_energy_pico,
        "hardware_pico": run.cost_hardware_pico,
        "data_pico": run.cost_data_pico,
    }
    return {
        "wall_s": run.wall_s,
        "energy_uj": run.energy_uj,
        "co2_ng": run.co2_ng,
        "device": run.device,
        **money,
        "total_pico": sum(money.values()),
    }
