"""The edge: hostile input is refused before parsing or recording, with a JSON `code`; the
token guards the service; draining answers 503 shutting_down; the OpenAPI states the limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, func, select

from models.service import create_app
from models.service.edge import UnprotectedServiceError
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.loopback import running
from tests.service.conftest import service_settings

Server = tuple[str, DatabaseSettings]
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, adapters_dir: Path, served_model: ServedModel
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("edge")
    database = DatabaseSettings(url=f"sqlite:///{root / 'db.sqlite'}", spool_path=root / "spool")
    upgrade(create_db_engine(database))
    settings = service_settings(database, adapters_dir, max_text_chars=100, max_texts_per_request=4)
    with running(create_app(settings, model=served_model)) as url:
        yield url, database


def _count(database: DatabaseSettings) -> int:
    with Session(create_db_engine(database)) as session:
        return session.exec(select(func.count()).select_from(InferenceRecord)).one()


def _post(url: str, content: bytes, **headers: str) -> httpx.Response:
    headers = {"content-type": "application/json", **headers}
    return httpx.post(f"{url}/v1/classify", content=content, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invalid utf-8", b'{"text": "caf\xe9"}'),
        ("deeply nested", b'{"text": "hi", "tasks": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"),
        ("empty body", b""),
    ],
)
def test_a_body_that_is_not_json_is_422_with_a_code(
    server: Server, name: str, content: bytes
) -> None:
    reply = _post(server[0], content)
    assert (reply.status_code, reply.json()["code"]) == (422, "invalid_json"), reply.text


def test_a_body_over_the_cap_is_413_before_it_is_read(server: Server) -> None:
    def chunks() -> Iterator[bytes]:  # no content-length: counted while it arrives
        yield b'{"text": "'
        for _ in range(200):
            yield b"x" * 65_536
        yield b'"}'

    declared = b"{" + b" " * 3_000_000 + b"}"
    for body in (declared, chunks()):
        _assert_refused_unread(server[0], body)


def _assert_refused_unread(url: str, body: bytes | Iterator[bytes]) -> None:
    """The server answers 413 while the client is still sending, then closes the connection;
    whether the client reads that answer or first meets the close (a reset) is a race of the two
    TCP stacks. Either outcome shows the body was refused before it was read; the service stays
    up."""
    try:
        reply = httpx.post(f"{url}/v1/classify", content=body, headers=JSON, timeout=30)
    except (httpx.RemoteProtocolError, httpx.WriteError, httpx.ReadError):
        pass
    else:
        assert (reply.status_code, reply.json()["code"]) == (413, "body_too_large")
    assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200


def test_an_unknown_path_is_json_with_a_code(server: Server) -> None:
    reply = httpx.get(f"{server[0]}/nowhere", timeout=30)
    assert (reply.status_code, reply.json()["code"]) == (404, "not_found")
    reply = httpx.delete(f"{server[0]}/v1/classify", timeout=30)
    assert (reply.status_code, reply.json()["code"]) == (405, "method_not_allowed")


def test_hostile_requests_mid_load_are_422_and_every_other_one_is_recorded(
    server: Server,
) -> None:
    url, database = server
    before = _count(database)
    replies = asyncio.run(_burst_with_hostile_requests(url))
    statuses = [r.status_code for r in replies]
    assert statuses.count(200) == 40
    refused = [r.json()["code"] for r in replies if r.status_code != 200]
    assert sorted(refused) == ["invalid_request", "invalid_request", "invalid_text", "invalid_text"]
    deadline = time.monotonic() + 10
    while _count(database) < before + 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(database) == before + 40


async def _burst_with_hostile_requests(url: str) -> list[httpx.Response]:
    hostile = [
        {"text": "hi", "source": {"guild_id": 2**63}},
        {"text": "hi", "source": {"channel_id": -1}},
        {"text": "a\x00b"},
        {"texts": ["fine", "lone \ud800 surrogate"]},
    ]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        good = [client.post("/v1/classify", json={"text": f"card {i}"}) for i in range(40)]
        bad = [
            client.post("/v1/classify", content=json.dumps(body).encode(), headers=JSON)
            for body in hostile  # json.dumps escapes the lone surrogate as JSON allows
        ]
        return list(await asyncio.gather(*good[:20], *bad, *good[20:]))


def test_the_openapi_document_states_the_limits(server: Server) -> None:
    schema = httpx.get(f"{server[0]}/openapi.json", timeout=30).json()
    schemas = schema["components"]["schemas"]
    texts = next(
        b
        for b in schemas["ClassifyRequest"]["properties"]["texts"]["anyOf"]
        if b.get("type") == "array"
    )
    assert (texts["maxItems"], texts["items"]["maxLength"]) == (4, 100)
    guild = next(
        b
        for b in schemas["Requester"]["properties"]["guild_id"]["anyOf"]
        if b.get("type") == "integer"
    )
    assert (guild["minimum"], guild["maximum"]) == (0, 2**63 - 1)
    assert {"401", "413", "422", "503"} <= set(schema["paths"]["/v1/classify"]["post"]["responses"])


def test_while_draining_new_requests_get_503_shutting_down(
    tmp_path: Path, adapters_dir: Path, served_model: ServedModel
) -> None:
    database = DatabaseSettings(
        url=f"sqlite:///{tmp_path / 'db.sqlite'}", spool_path=tmp_path / "s"
    )
    upgrade(create_db_engine(database))
    app = create_app(service_settings(database, adapters_dir), model=served_model)
    with running(app) as url:
        app.state.service.draining = True
        reply = httpx.post(f"{url}/v1/classify", json={"text": "hi"}, timeout=30)
        ready = httpx.get(f"{url}/readyz", timeout=30)
    assert (reply.status_code, reply.json()["code"]) == (503, "shutting_down")
    assert int(reply.headers["Retry-After"]) > 0
    assert (ready.status_code, ready.json()["status"]) == (503, "not ready")


def test_the_token_guards_everything_but_the_probes(
    tmp_path: Path, adapters_dir: Path, served_model: ServedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = DatabaseSettings(
        url=f"sqlite:///{tmp_path / 'db.sqlite'}", spool_path=tmp_path / "s"
    )
    upgrade(create_db_engine(database))
    monkeypatch.setenv("COSTBOT_SERVICE_TOKEN", "s3cret-token")
    with running(create_app(service_settings(database, adapters_dir), model=served_model)) as url:
        anonymous = httpx.post(f"{url}/v1/classify", json={"text": "hi"}, timeout=30)
        wrong = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=30)
        signed = httpx.post(
            f"{url}/v1/classify",
            json={"text": "hi"},
            headers={"Authorization": "Bearer s3cret-token"},
            timeout=30,
        )
        probe = httpx.get(f"{url}/readyz", timeout=30)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert "s3cret" not in anonymous.text
    assert wrong.status_code == 401
    assert signed.status_code == 200
    assert probe.status_code == 200


def test_beyond_loopback_without_a_token_the_service_refuses_to_start(
    tmp_path: Path, adapters_dir: Path
) -> None:
    database = DatabaseSettings(url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(UnprotectedServiceError, match="COSTBOT_SERVICE_TOKEN"):
        create_app(service_settings(database, adapters_dir, host="0.0.0.0"))
