"""Backpressure: a full queue answers 503 with Retry-After at once; nothing served is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from models.service import create_app
from models.service.model import ServedModel
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.loopback import running
from tests.service.conftest import service_settings
from tests.service.fakes import slowed


async def _burst(url: str, n: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(i: int) -> httpx.Response:
            return await client.post("/v1/classify", json={"text": f"where is my card {i}"})

        return await asyncio.gather(*(one(i) for i in range(n)))


def test_full_queue_is_503_with_retry_after_and_served_ones_are_recorded(
    engine: Engine, db_settings: DatabaseSettings, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(
        db_settings, adapters_dir, queue_limit=2, max_batch_size=1, max_wait_ms=0
    )
    with running(create_app(settings, model=slowed(served_model, 0.2))) as url:
        replies = asyncio.run(_burst(url, 16))
    refused = [r for r in replies if r.status_code == 503]
    served = [r for r in replies if r.status_code == 200]
    assert refused and served
    assert len(served) + len(refused) == 16
    for reply in refused:
        assert reply.json()["code"] == "queue_full"
        assert int(reply.headers["Retry-After"]) >= 1
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(InferenceRecord)).one() == len(served)
