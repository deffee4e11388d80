"""A database the service can reach but that is not migrated keeps /readyz at 503, saying to
run `costbot db upgrade` (#16 point 2); once migrated, the service is ready. Real server."""

from __future__ import annotations

from pathlib import Path

import httpx

from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.loopback import running
from tests.service.conftest import service_settings


def test_readyz_names_an_unmigrated_database_and_the_command(
    db_settings: DatabaseSettings, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(db_settings, adapters_dir)
    with running(create_app(settings, model=served_model), ready=False) as url:
        before = httpx.get(f"{url}/readyz", timeout=30)
        engine = create_db_engine(db_settings)
        upgrade(engine)
        engine.dispose()
        after = httpx.get(f"{url}/readyz", timeout=30)
    assert before.status_code == 503
    body = before.json()
    assert (body["model_loaded"], body["database"]) == (True, False)
    assert "has no costbot schema (never migrated); run `costbot db upgrade`" in body["reason"]
    assert after.status_code == 200 and after.json()["database"] is True
