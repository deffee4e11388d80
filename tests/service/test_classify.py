"""POST /v1/classify on a real server: answers, costs, records (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from models.service import ServeOptions, create_app
from models.service.identity import hash_user, resolve_salt
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.conftest import fast_test_settings
from tests.loopback import INTENTS, SENTIMENTS, WINDOW, running
from tests.service.conftest import service_settings

LONG_TEXT = " ".join(["my card has not arrived"] * 20)


def _records(engine: Engine) -> list[InferenceRecord]:
    with Session(engine) as session:
        return list(session.exec(select(InferenceRecord).order_by(col(InferenceRecord.id))))


def test_classify_answers_and_records_each_text(
    engine: Engine, db_settings: DatabaseSettings, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(db_settings, adapters_dir)
    body = {
        "texts": ["my card has not arrived", LONG_TEXT],
        "source": {
            "kind": "discord",
            "command": "classify",
            "guild_id": 1,
            "channel_id": 2,
            "user": "789",
        },
    }
    with running(create_app(settings, model=served_model)) as url:
        reply = httpx.post(f"{url}/v1/classify", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    first, second = data["results"]
    assert [first["index"], second["index"]] == [0, 1]
    assert set(first["predictions"]) == {"intent", "sentiment"}
    assert first["predictions"]["intent"]["label"] in [*INTENTS, "unknown"]
    assert first["predictions"]["sentiment"]["top"][0]["label"] in SENTIMENTS
    assert (first["truncated"], second["truncated"]) == (False, True)
    assert second["tokens"] > WINDOW
    money = {k: Decimal(v) for k, v in second["cost"]["money"].items()}  # exact decimal strings
    assert money["total"] > 0
    assert sum(money[k] for k in ("compute", "energy", "hardware", "data")) == money["total"]

    rows = _records(engine)
    assert len(rows) == 2
    assert {r.request_id for r in rows} == {data["request_id"]}
    assert [r.truncated for r in rows] == [False, True]
    assert rows[0].user_hash == hash_user(resolve_salt(settings), "789")  # never the raw id
    assert (rows[0].source_kind, rows[0].command, rows[0].guild_id, rows[0].channel_id) == (
        "discord",
        "classify",
        1,
        2,
    )
    assert rows[0].text is None
    assert rows[0].predictions["intent"]["label"] == first["predictions"]["intent"]["label"]
    assert rows[1].input_tokens == second["tokens"]
    assert rows[0].cost_compute_pico + rows[0].cost_energy_pico > 0


def test_store_text_and_task_subset(
    engine: Engine, db_settings: DatabaseSettings, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(db_settings, adapters_dir, store_text=True)
    with running(create_app(settings, model=served_model)) as url:
        reply = httpx.post(
            f"{url}/v1/classify", json={"text": "thanks!", "tasks": ["sentiment"]}, timeout=30
        )
    assert reply.status_code == 200, reply.text
    assert set(reply.json()["results"][0]["predictions"]) == {"sentiment"}
    (row,) = _records(engine)
    assert (row.text, row.tasks, row.source_kind) == ("thanks!", "sentiment", "http")
    assert row.user_hash is None


async def _classify_concurrently(url: str, clients: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        texts = [t for examples in INTENTS.values() for t in examples]
        return await asyncio.gather(
            *(
                client.post(
                    "/v1/classify", json={"texts": [texts[i % len(texts)], LONG_TEXT[: 10 + i]]}
                )
                for i in range(clients)
            )
        )


def test_concurrent_clients_are_batched_and_items_sum_to_batch_totals(
    engine: Engine, db_settings: DatabaseSettings, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(db_settings, adapters_dir, max_wait_ms=30, max_batch_size=16)
    app = create_app(settings, model=served_model)
    with running(app) as url:
        replies = asyncio.run(_classify_concurrently(url, clients=24))
    assert [r.status_code for r in replies] == [200] * 24
    sizes = [item["cost"]["batch_size"] for r in replies for item in r.json()["results"]]
    assert max(sizes) > 2, "concurrent requests were not coalesced"
    rows = _records(engine)
    assert len(rows) == 48
    assert len({r.batch_id for r in rows}) < 48
    registry = app.state.service.metrics.registry
    for component in ("compute", "energy"):
        batch_total = registry.get_sample_value(
            "costbot_cost_pico_total", {"component": component, "currency": "USD"}
        )
        column = getattr(InferenceRecord, f"cost_{component}_pico")
        with Session(engine) as session:
            items_total = session.exec(select(func.sum(column))).one()
        # Cloud prices (the default) include the power: no energy money, so no energy sample.
        assert items_total == (batch_total or 0)
        assert items_total > 0 or component == "energy"


def test_bf16_serving_agrees_with_fp32(
    tmp_path: Path, adapters_dir: Path, served_model: ServedModel
) -> None:
    database = fast_test_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    upgrade(create_db_engine(database))
    settings = service_settings(database, adapters_dir)
    body = {"texts": ["my card was stolen", "what is the exchange rate", "awful service"]}
    scores = {}
    onnx = served_model.classifier.forward
    served_model.classifier.use(None)  # bf16 autocast is a torch-engine feature
    try:
        for precision in ("fp32", "bf16"):
            options = ServeOptions(precision=precision)
            app = create_app(settings, model=served_model, options=options)
            with running(app) as url:
                reply = httpx.post(f"{url}/v1/classify", json=body, timeout=30)
            assert reply.status_code == 200, reply.text
            scores[precision] = [
                item["predictions"]["intent"]["top"][0]["score"] for item in reply.json()["results"]
            ]
    finally:
        served_model.classifier.use(onnx)
    assert scores["fp32"] != scores["bf16"], "bf16 should have changed the arithmetic"
    for fp32, bf16 in zip(scores["fp32"], scores["bf16"], strict=True):
        assert abs(fp32 - bf16) < 0.05
