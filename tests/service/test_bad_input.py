"""Bad requests get a clear 422 with a machine code, and nothing is recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.loopback import running
from tests.service.conftest import service_settings

CASES: list[tuple[str, Any, str]] = [
    ("empty text", {"text": ""}, "empty_text"),
    ("blank text", {"texts": ["ok", "   "]}, "empty_text"),
    ("empty list", {"texts": []}, "empty_request"),
    ("too long", {"text": "x" * 101}, "text_too_long"),
    ("too many", {"texts": ["a"] * 5}, "too_many_texts"),
    ("unknown task", {"text": "hi", "tasks": ["topic"]}, "unknown_task"),
    ("no tasks", {"text": "hi", "tasks": []}, "invalid_request"),
    ("neither field", {}, "invalid_request"),
    ("both fields", {"text": "a", "texts": ["b"]}, "invalid_request"),
    ("number text", {"texts": [1]}, "invalid_request"),
    ("string texts", {"texts": "hello"}, "invalid_request"),
    ("object body", ["hello"], "invalid_request"),
    ("unknown field", {"text": "hi", "lang": "en"}, "invalid_request"),
    ("bad source kind", {"text": "hi", "source": {"kind": "slack"}}, "invalid_request"),
    ("integer user", {"text": "hi", "source": {"user": 789}}, "invalid_request"),
    ("string channel", {"text": "hi", "source": {"channel_id": "general"}}, "invalid_request"),
]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, adapters_dir: Path, served_model: ServedModel
) -> Iterator[tuple[str, DatabaseSettings]]:
    """One server with tight limits for every case (SQLite: the limits do not touch storage)."""
    root = tmp_path_factory.mktemp("bad-input")
    database = DatabaseSettings(url=f"sqlite:///{root / 'db.sqlite'}", spool_path=root / "spool")
    upgrade(create_db_engine(database))
    settings = service_settings(database, adapters_dir, max_text_chars=100, max_texts_per_request=4)
    with running(create_app(settings, model=served_model)) as url:
        yield url, database


@pytest.mark.parametrize(("name", "body", "code"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_422_with_code(
    server: tuple[str, DatabaseSettings], name: str, body: Any, code: str
) -> None:
    reply = httpx.post(f"{server[0]}/v1/classify", json=body, timeout=30)
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == code
    assert reply.json()["detail"]


def test_invalid_json_is_422(server: tuple[str, DatabaseSettings]) -> None:
    reply = httpx.post(
        f"{server[0]}/v1/classify",
        content=b"{not json",
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert (reply.status_code, reply.json()["code"]) == (422, "invalid_json")


def test_limits_are_inclusive_and_bad_requests_leave_no_record(
    server: tuple[str, DatabaseSettings],
) -> None:
    url, database = server
    reply = httpx.post(f"{url}/v1/classify", json={"texts": ["x" * 100] * 4}, timeout=30)
    assert reply.status_code == 200, reply.text
    refused = httpx.post(f"{url}/v1/classify", json={"text": ""}, timeout=30)
    assert refused.status_code == 422, refused.text
    reply = httpx.get(f"{url}/metrics", timeout=30)
    assert 'costbot_rejected_total{code="empty_text"}' in reply.text
    assert _count_when_settled(create_db_engine(database), expected=4) == 4


def _count_when_settled(engine: Engine, *, expected: int) -> int:
    """The record count, once it reaches `expected` or 5 s have passed (the writer batches)."""
    deadline = time.monotonic() + 5
    while True:
        with Session(engine) as session:
            count = session.exec(select(func.count()).select_from(InferenceRecord)).one()
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.05)
