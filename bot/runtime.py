"""What a running bot owns (HTTP client, database, record writer), opened and closed once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from bot.service_client import ModelServiceClient
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.settings import Settings
from storage.writer import RecordWriter


@dataclass(frozen=True)
class Resources:
    """Open resources; closed by `open_resources` on exit."""

    http: httpx.AsyncClient
    engine: Engine
    session_factory: SessionFactory
    writer: RecordWriter

    def service(self, settings: Settings) -> ModelServiceClient:
        """A model-service client over the shared HTTP client."""
        return ModelServiceClient(
            self.http, base_url=settings.service.url, timeout_s=settings.service.request_timeout_s
        )


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open the HTTP client, the engine and the record writer; close all of them on exit."""
    engine = create_db_engine(settings.database)
    writer = RecordWriter(engine, settings.database).start()
    http = httpx.AsyncClient(timeout=settings.service.request_timeout_s)
    try:
        yield Resources(http, engine, session_factory(engine), writer)
    finally:
        await http.aclose()
        writer.close()
        engine.dispose()
