"""A database outage never fails an inference; its records are spooled, then replayed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, func, select

from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.loopback import running
from tests.pg_cluster import PostgresCluster
from tests.service.conftest import service_settings


@pytest.mark.postgres
def test_requests_during_a_database_outage_are_served_and_recorded_later(
    pg_cluster: PostgresCluster,
    postgres_settings: DatabaseSettings,
    adapters_dir: Path,
    served_model: ServedModel,
) -> None:
    engine = create_db_engine(postgres_settings)
    upgrade(engine)
    app = create_app(service_settings(postgres_settings, adapters_dir), model=served_model)
    writer_stats = None
    with running(app) as url:
        statuses = [_classify(url, "before")]
        pg_cluster.stop("immediate")
        statuses += [_classify(url, f"during {i}") for i in range(3)]
        time.sleep(0.5)  # past the writer's retries: the batch goes to the spool
        pg_cluster.start()
        pg_cluster.wait_ready()
        statuses += [_classify(url, "after")]
        writer = app.state.service.writer
        deadline = time.monotonic() + 20
        while writer.spool_pending and time.monotonic() < deadline:
            time.sleep(0.1)
        writer_stats = writer.stats
    assert statuses == [200] * 5
    assert writer_stats is not None and writer_stats.spooled > 0
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(InferenceRecord)).one() == 5
    engine.dispose()


def _classify(url: str, text: str) -> int:
    return httpx.post(f"{url}/v1/classify", json={"text": text}, timeout=30).status_code
