"""Bot fixtures: a migrated database of each backend and the real model service on loopback,
serving the tiny support model of tests/conftest.py (real BANKING77 intent names, so the
templates apply)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.settings import BotConfig, ServiceEndpoint
from models.service import create_app
from models.service.model import ServedModel
from models.service.settings import ServiceConfig, ServiceSettings
from storage.settings import DatabaseSettings
from tests.loopback import free_socket, running


@pytest.fixture
def database(db_settings: DatabaseSettings, engine: Engine) -> DatabaseSettings:
    """An empty database of each backend, migrated by the shared `engine` fixture."""
    return db_settings


@pytest.fixture
def service_url(served_model: ServedModel, database: DatabaseSettings) -> Iterator[str]:
    """The real model service on loopback, recording into the test database."""
    settings = ServiceConfig(database=database, service=ServiceSettings(device="cpu"))
    with running(create_app(settings, model=served_model)) as url:
        yield url


@pytest.fixture
def settings(database: DatabaseSettings, service_url: str) -> BotConfig:
    """Bot settings pointing at the test service and database."""
    return BotConfig(database=database, service=ServiceEndpoint(url=service_url, timeout_s=20))


@pytest.fixture
def unused_url() -> str:
    """A loopback URL where nothing listens (the model service is down)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
