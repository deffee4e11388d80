"""Health, readiness, models, metrics and the OpenAPI document, on a real server."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from tests.conftest import fast_test_settings
from tests.loopback import INTENTS, WINDOW, free_socket, running
from tests.service.conftest import service_settings


def _sqlite(tmp_path: Path) -> DatabaseSettings:
    """A migrated SQLite database (an unmigrated one keeps the service unready)."""
    database = fast_test_settings(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    upgrade(create_db_engine(database))
    return database


def test_health_ready_models_metrics(
    db_settings: DatabaseSettings, engine: Engine, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(db_settings, adapters_dir)
    with running(create_app(settings, model=served_model)) as url:
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{url}/readyz").json()
        models = httpx.get(f"{url}/v1/models").json()
        httpx.post(f"{url}/v1/classify", json={"text": "my card is lost"}, timeout=30)
        three = {"texts": ["card lost", "hi", "refund"], "tasks": ["intent"]}
        assert httpx.post(f"{url}/v1/classify", json=three, timeout=30).status_code == 200
        metrics = httpx.get(f"{url}/metrics")
    assert ready == {
        "status": "ready",
        "model_loaded": True,
        "database": True,
        "reason": "",
        "degraded": [],
    }
    assert models["model_name"] == served_model.model_name and models["device"] == "cpu"
    assert (models["engine"], models["precision"]) == ("onnx", "fp32")  # auto on this CPU
    assert models["engine_reason"].startswith("auto: ONNX Runtime")
    assert len(models["version"]) == 12 and models["version"] == served_model.version
    adapters = {a["task"]: a for a in models["adapters"]}
    assert set(adapters) == {"intent", "sentiment"}
    assert adapters["intent"]["labels"] == sorted(INTENTS)
    assert adapters["sentiment"]["labels"] == ["negative", "neutral", "positive"]
    assert {a["version"] for a in adapters.values()} == {models["version"]}  # one adapter
    intent, sentiment = adapters["intent"], adapters["sentiment"]
    assert 0 < intent["threshold"] <= 1 and intent["margin"] >= 0 and "unknown" in intent["rule"]
    assert (sentiment["threshold"], sentiment["margin"]) == (0.0, 0.0)
    assert "never unknown" in sentiment["rule"]
    point = models["operating_point"]
    assert (point["threshold"], point["margin"]) == pytest.approx(
        (intent["threshold"], intent["margin"]), abs=1e-6
    )
    assert point["cost_wrong"] > point["cost_escalate"] > 0 and 0 < point["ood_prior"] < 1
    assert {"top1_accuracy", "served_accuracy", "unknown_rate"} <= set(intent["metrics"])
    assert "tiny-sentiment_accuracy" in sentiment["metrics"]
    assert intent["max_length"] == WINDOW and intent["base_model"] == models["model_name"]
    assert metrics.headers["content-type"].startswith("text/plain")
    for name in (
        "costbot_batch_size_bucket",
        "costbot_request_latency_seconds_bucket",
        "costbot_queue_depth",
        'costbot_texts_total{task="intent"} 4.0',  # one text, then three in one batch
        'costbot_texts_total{task="sentiment"} 1.0',
        "costbot_cost_pico_total",
        "costbot_metering_overhead_seconds_count 2.0",
        "costbot_writer_cpu_seconds_total",
    ):
        assert name in metrics.text
    costing_cpu = re.search(r"^costbot_costing_cpu_seconds_total (\S+)$", metrics.text, re.M)
    assert costing_cpu is not None and 0 < float(costing_cpu.group(1)) < 10


def test_readyz_is_503_when_the_database_is_unreachable(
    tmp_path: Path, adapters_dir: Path, served_model: ServedModel
) -> None:
    with free_socket() as sock:
        closed_port = sock.getsockname()[1]
    database = fast_test_settings(f"postgresql://nobody@127.0.0.1:{closed_port}/none", tmp_path)
    settings = service_settings(database, adapters_dir)
    with running(create_app(settings, model=served_model), ready=False) as url:
        reply = httpx.get(f"{url}/readyz", timeout=30)
        served = httpx.post(f"{url}/v1/classify", json={"text": "thanks"}, timeout=30)
    assert reply.status_code == 503
    assert (reply.json()["model_loaded"], reply.json()["database"]) == (True, False)
    assert served.status_code == 200, "a database outage must not fail inferences"


def test_a_model_that_cannot_load_is_503_not_a_crash(tmp_path: Path) -> None:
    settings = service_settings(_sqlite(tmp_path), tmp_path / "no-adapters")
    with running(create_app(settings), ready=False) as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
        reply = httpx.post(f"{url}/v1/classify", json={"text": "hi"}, timeout=30)
    assert ready.status_code == 503 and "model directory not found" in ready.json()["reason"]
    assert (reply.status_code, reply.json()["code"]) == (503, "model_not_ready")
    assert int(reply.headers["Retry-After"]) > 0


def test_openapi_documents_the_contract(
    tmp_path: Path, adapters_dir: Path, served_model: ServedModel
) -> None:
    settings = service_settings(_sqlite(tmp_path), adapters_dir)
    with running(create_app(settings, model=served_model)) as url:
        schema = httpx.get(f"{url}/openapi.json").json()
    assert {"/v1/classify", "/healthz", "/readyz", "/v1/models", "/metrics"} <= set(schema["paths"])
    classify = schema["paths"]["/v1/classify"]["post"]
    assert {"200", "422", "503"} <= set(classify["responses"])
    request = schema["components"]["schemas"]["ClassifyRequest"]
    assert request["examples"] and request["description"]
    assert schema["components"]["schemas"]["Cost"]["properties"]["queue_ms"]["description"]
