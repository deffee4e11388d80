"""What a running bot owns (HTTP client, database, record writer), opened and closed once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import Engine

from bot.conversations import ConversationStore
from bot.service_client import ModelServiceClient
from bot.settings import BotConfig, SupportSettings
from bot.support import SupportContext, load_templates
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.errors import SchemaNotCurrentError, StorageUnavailableError
from storage.migrate import require_current_schema
from storage.types import utc_now
from storage.writer import RecordWriter


@dataclass(frozen=True)
class Resources:
    """Open resources; closed by `open_resources` on exit."""

    http: httpx.AsyncClient
    engine: Engine
    session_factory: SessionFactory
    writer: RecordWriter
    service: ModelServiceClient

    support_settings: SupportSettings
    store_text: bool = False  # the service's store_text: the handoff note may quote messages

    def support(
        self, *, user_id: str, salt: str, clock: Callable[[], datetime] = utc_now
    ) -> SupportContext:
        """A console support context: answers from the service, outcomes into this writer,
        conversations in this database."""
        return SupportContext(
            service=self.service,
            templates=load_templates(),
            record=self.writer.submit,
            policy=self.support_settings.policy(),
            conversations=ConversationStore(
                self.session_factory,
                idle_timeout=self.support_settings.idle_timeout,
                handoff_idle_timeout=self.support_settings.handoff_idle_timeout,
            ),
            clock=clock,
            kind="console",
            user_id=user_id,
            user_hash_salt=salt,
            store_text=self.store_text,
        )


@asynccontextmanager
async def open_resources(config: BotConfig) -> AsyncIterator[Resources]:
    """Open the HTTP client, the engine and the record writer; close all of them on exit.
    Raise SchemaNotCurrentError (saying to run `costbot db upgrade`) for a database that is not
    migrated, StorageUnavailableError for one that does not answer."""
    engine = create_db_engine(config.database)
    try:
        require_current_schema(engine)
    except (SchemaNotCurrentError, StorageUnavailableError):
        engine.dispose()
        raise
    writer = RecordWriter(engine, config.database).start()
    endpoint = config.service
    http = httpx.AsyncClient(timeout=endpoint.timeout_s)
    service = ModelServiceClient(http, base_url=endpoint.url, timeout_s=endpoint.timeout_s)
    try:
        yield Resources(
            http,
            engine,
            session_factory(engine),
            writer,
            service,
            config.support,
            store_text=config.store_text,
        )
    finally:
        await http.aclose()
        writer.close()
        engine.dispose()
