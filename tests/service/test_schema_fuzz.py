"""Schemathesis against the live service (a real uvicorn server on loopback): every request the
OpenAPI document allows gets a documented status, never a 5xx, with a body that fits it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.loopback import running
from tests.service.conftest import service_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_schema(
    tmp_path_factory: pytest.TempPathFactory, adapters_dir: Path, served_model: ServedModel
) -> Iterator[Any]:
    """The OpenAPI document served by a live service, with limits small enough to fuzz fast."""
    root = tmp_path_factory.mktemp("fuzz")
    database = DatabaseSettings(url=f"sqlite:///{root / 'db.sqlite'}", spool_path=root / "spool")
    upgrade(create_db_engine(database))
    config = service_settings(database, adapters_dir, max_text_chars=200, max_texts_per_request=8)
    with running(create_app(config, model=served_model)) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


def test_every_schema_valid_request_gets_a_documented_answer(live_schema: Any) -> None:
    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/classify", "/readyz", "/metrics"}
    for operation in operations:
        _fuzz(operation)


def _fuzz(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=CHECKS)

    run()
