"""What one app holds while it runs: settings, metrics, the database and, once loaded, the model."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
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
from models.service.pricing import BatchPricer
from models.service.schemas import Readiness
from models.service.settings import ServiceConfig
from storage.db import session_factory, session_scope
from storage.errors import SchemaNotCurrentError, StorageUnavailableError
from storage.migrate import require_current_schema
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
    pricer: BatchPricer | None = None
    load_error: str = ""
    draining: bool = False
    in_flight: int = 0  # requests past the edge and not yet answered
    probe: DatabaseProbe = field(init=False)

    def __post_init__(self) -> None:
        self.probe = DatabaseProbe(self.engine)

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

    async def readiness(self, *, within_s: float = 0.8) -> Readiness:
        """Whether the model is loaded and the database answers, and what is degraded; answers
        within `within_s` even when the database hangs."""
        database, reason = await self.probe.check(within_s)
        loaded = self.runtime is not None
        if not loaded:
            reason = self.load_error or "the model is still loading"
        if self.draining:
            reason = "the service is shutting down"
        degraded = self.degraded()
        up = loaded and database and not self.draining
        status = "not ready" if not up else "degraded" if degraded else "ready"
        return Readiness(
            status=status, model_loaded=loaded, database=database, reason=reason, degraded=degraded
        )

    def degraded(self) -> list[str]:
        """What works in a reduced way now (the write path, stale prices), in words."""
        found = list(self.writer.problems()) if self.writer is not None else []
        pricer = self.pricer
        stale_after = 3 * self.settings.service.price_refresh_s
        if pricer is not None and pricer.loaded_at is None:
            found.append("price sheets not loaded yet: the configured prices are used")
        elif pricer is not None and time.monotonic() - (pricer.loaded_at or 0) > stale_after:
            found.append("price sheets not reloaded lately: the last sheet loaded is used")
        return found

    def training_costs(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Measured training cost per (task, adapter version), from the TrainingRun table."""
        try:
            with session_scope(session_factory(self.engine)) as session:
                runs = session.exec(select(TrainingRun).order_by(col(TrainingRun.started_at)))
                return {(run.task, run.adapter_version): _training_cost(run) for run in runs}
        except SQLAlchemyError as error:
            log.warning("training costs unavailable: %s", type(error).__name__)
            return {}


class DatabaseProbe:
    """One connection check at a time, in its own thread; callers wait at most a deadline."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self._result: tuple[bool, str] = (False, "not checked yet")
        self._done = threading.Event()

    async def check(self, within_s: float) -> tuple[bool, str]:
        """(answers, reason): the database's answer, or False when none came within `within_s`."""
        done = self._start()
        if await asyncio.to_thread(done.wait, within_s):
            return self._result
        return False, f"the database did not answer within {within_s:g}s"

    def _start(self) -> threading.Event:
        with self._lock:
            if self._running is None or not self._running.is_alive():
                self._done = threading.Event()
                self._running = threading.Thread(
                    target=self._probe, args=(self._done,), name="costbot-db-probe", daemon=True
                )
                self._running.start()
            return self._done

    def _probe(self, done: threading.Event) -> None:
        try:
            require_current_schema(self._engine)
            self._result = (True, "")
        except (StorageUnavailableError, SchemaNotCurrentError) as error:
            self._result = (False, str(error))
        except SQLAlchemyError as error:
            self._result = (False, f"database check failed: {type(error).__name__}")
        done.set()


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
