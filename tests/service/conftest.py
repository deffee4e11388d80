"""Fixtures of the service tests: real uvicorn servers on loopback over the tiny support model
(the `adapters_dir` and `served_model` fixtures live in tests/conftest.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from models.service.settings import ServiceConfig, ServiceSettings
from storage.settings import DatabaseSettings

TEST_ONNX_CACHE = Path(tempfile.gettempdir()) / "costbot-tests-onnx-cache"


def service_settings(
    database: DatabaseSettings, adapters_dir: Path, **service: Any
) -> ServiceConfig:
    """Settings for a test server on loopback (ONNX exports in a cache of the test runs, keyed by
    model version, never beside a shipped model)."""
    service.setdefault("engine_cache_dir", TEST_ONNX_CACHE)
    return ServiceConfig(
        database=database,
        service=ServiceSettings(adapters_dir=adapters_dir, device="cpu", **service),
    )
