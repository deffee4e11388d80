"""Faults around the model never cost the answer: a failing or lying meter is replaced by the
estimate (counted in /metrics), text with nothing to read is refused, every 5xx is JSON."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from costing.measurement import EnergyMethod, EnergyReading
from costing.metering import CostMeter
from costing.meters.estimate import CpuTimeEstimate
from costing.meters.rapl import RaplMeter, find_domains
from costing.units import Energy
from models.service import create_app
from models.service.model import ServedModel
from storage.db import create_db_engine
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord
from tests.loopback import running
from tests.metering.fakes import make_zone, set_energy
from tests.service.conftest import service_settings


class FaultyBackend:
    """A CPU energy backend that raises on chosen reads, or reads a negative energy."""

    component = "cpu"
    max_watts: float | None = 500.0

    def __init__(self, *, raise_on: set[int] = frozenset(), negative: bool = False) -> None:  # type: ignore[assignment]
        self.raise_on, self.negative, self.reads = raise_on, negative, 0

    def _read(self) -> None:
        self.reads += 1
        if self.reads in self.raise_on:
            raise OSError("energy counter read failed")

    def begin(self) -> None:
        self._read()

    def end(self, start: None, *, wall_s: float, cpu_s: float) -> EnergyReading:
        self._read()
        energy = Energy(-3_999_990_000 if self.negative else 1_000)
        return EnergyReading("cpu", energy, EnergyMethod.RAPL)

    def close(self) -> None:
        return None


def serve_with_meter(
    tmp_path: Path,
    adapters_dir: Path,
    model: ServedModel,
    monkeypatch: pytest.MonkeyPatch,
    backend: Any,
) -> Any:
    """A real service on loopback whose meter uses `backend` (with the estimate as fallback)."""
    meter = CostMeter(device="cpu", backends=[backend], fallbacks={"cpu": CpuTimeEstimate(10)})
    monkeypatch.setattr("models.service.app.device_meter", lambda device, power: meter)
    database = DatabaseSettings(
        url=f"sqlite:///{tmp_path / 'db.sqlite'}", spool_path=tmp_path / "spool"
    )
    upgrade(create_db_engine(database))
    return running(create_app(service_settings(database, adapters_dir), model=model)), database


def records(database: DatabaseSettings, count: int) -> list[InferenceRecord]:
    engine = create_db_engine(database)
    deadline = time.monotonic() + 10
    while True:
        with Session(engine) as session:
            rows = list(session.exec(select(InferenceRecord)))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def fallback_count(url: str, reason: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    for line in text.splitlines():
        if line.startswith("costbot_meter_fallbacks_total{") and f'reason="{reason}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(lambda: FaultyBackend(raise_on={1}), id="raises-at-start"),
        pytest.param(lambda: FaultyBackend(raise_on={2}), id="raises-at-end"),
        pytest.param(lambda: FaultyBackend(negative=True), id="negative"),
    ],
)
def test_a_failing_meter_still_answers_200_with_an_estimated_record(
    tmp_path: Path,
    adapters_dir: Path,
    served_model: ServedModel,
    monkeypatch: pytest.MonkeyPatch,
    backend: Any,
) -> None:
    server, database = serve_with_meter(
        tmp_path, adapters_dir, served_model, monkeypatch, backend()
    )
    with server as url:
        response = httpx.post(f"{url}/v1/classify", json={"texts": ["lost card", "hi"]})
        assert response.status_code == 200, response.text
        for result in response.json()["results"]:
            cost = result["cost"]
            assert cost["energy_method"] == "cpu-time-estimate"
            assert cost["energy_measured"] is False
            assert cost["energy_uj"] >= 0
        reason = "negative_energy" if backend().negative else "read_error"
        assert fallback_count(url, reason) == 1.0
    rows = records(database, 2)
    assert [r.energy_method for r in rows] == ["cpu-time-estimate"] * 2
    assert all(r.energy_uj >= 0 and r.cost_energy_pico >= 0 for r in rows)


def test_a_rapl_counter_jumping_back_is_estimated_not_negative(
    tmp_path: Path,
    adapters_dir: Path,
    served_model: ServedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zone = make_zone(tmp_path / "powercap", "intel-rapl:0", name="package-0", energy_uj=4 * 10**9)
    rapl = RaplMeter(find_domains(tmp_path / "powercap"), poll_s=3600)

    class Jumping:
        component, max_watts = "cpu", rapl.max_watts

        def begin(self) -> int:
            start = rapl.begin()
            set_energy(zone, 10_000)  # the counter goes from 4e9 to 1e4 µJ during the batch
            return start

        def end(self, start: int, *, wall_s: float, cpu_s: float) -> EnergyReading:
            return rapl.end(start, wall_s=wall_s, cpu_s=cpu_s)

        def close(self) -> None:
            rapl.close()

    server, database = serve_with_meter(
        tmp_path, adapters_dir, served_model, monkeypatch, Jumping()
    )
    with server as url:
        response = httpx.post(f"{url}/v1/classify", json={"text": "my card was stolen"})
        assert response.status_code == 200
        assert response.json()["results"][0]["cost"]["energy_method"] == "cpu-time-estimate"
        assert fallback_count(url, "above_power_bound") == 1.0
    (row,) = records(database, 1)
    assert row.energy_uj >= 0 and row.co2_ng >= 0 and row.energy_method == "cpu-time-estimate"


@pytest.fixture
def plain_server(
    tmp_path: Path, adapters_dir: Path, served_model: ServedModel
) -> Iterator[tuple[str, DatabaseSettings]]:
    database = DatabaseSettings(
        url=f"sqlite:///{tmp_path / 'db.sqlite'}", spool_path=tmp_path / "spool"
    )
    upgrade(create_db_engine(database))
    with running(create_app(service_settings(database, adapters_dir), model=served_model)) as url:
        yield url, database


def test_an_unexpected_failure_is_a_json_500_with_a_code(
    plain_server: tuple[str, DatabaseSettings],
    served_model: ServedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = plain_server

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("CUDA error: an illegal memory access")

    monkeypatch.setattr(served_model.classifier, "predict", broken)
    response = httpx.post(f"{url}/v1/classify", json={"text": "hello"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "CUDA" not in body["detail"]


INVISIBLE = [
    "\u200b",  # zero-width space (format)
    "\u200b\u200c\u200d\u2060\ufeff",  # zero-width joiners, word joiner, BOM
    " \t\n\r",  # white space and controls
    "\u3000\u00a0\u2028\u2029",  # ideographic space, no-break space, line/paragraph separators
    "\u202e\u2066\u2069",  # bidirectional controls
    "\x07\x1b",  # C0 controls
    "\u00ad",  # soft hyphen
]


@pytest.mark.parametrize("text", INVISIBLE, ids=[ascii(t) for t in INVISIBLE])
def test_text_with_nothing_to_read_is_refused_and_not_billed(
    plain_server: tuple[str, DatabaseSettings], text: str
) -> None:
    url, database = plain_server
    response = httpx.post(f"{url}/v1/classify", json={"text": text})
    assert (response.status_code, response.json()["code"]) == (422, "empty_text")
    visible = httpx.post(f"{url}/v1/classify", json={"text": "\u200bcard\u200b"})
    assert visible.status_code == 200
    assert len(records(database, 1)) == 1


class SlowBackend(FaultyBackend):
    """A CPU energy backend whose end-of-batch read takes `seconds` (a hung sensor)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def end(self, start: None, *, wall_s: float, cpu_s: float) -> EnergyReading:
        time.sleep(self.seconds)
        return super().end(start, wall_s=wall_s, cpu_s=cpu_s)


@pytest.mark.parametrize("texts", [["lost card"], ["lost card", "hi"]], ids=["one", "two"])
def test_a_batch_past_the_request_timeout_answers_503_timeout(
    tmp_path: Path,
    adapters_dir: Path,
    served_model: ServedModel,
    monkeypatch: pytest.MonkeyPatch,
    texts: list[str],
) -> None:
    meter = CostMeter(device="cpu", backends=[SlowBackend(1.5)], fallbacks={})
    monkeypatch.setattr("models.service.app.device_meter", lambda device, power: meter)
    database = DatabaseSettings(url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(create_db_engine(database))
    settings = service_settings(database, adapters_dir, request_timeout_s=0.3)
    with running(create_app(settings, model=served_model)) as url:
        started = time.monotonic()
        response = httpx.post(f"{url}/v1/classify", json={"texts": texts}, timeout=30)
        assert time.monotonic() - started < 1.4  # answered at the timeout, not after the batch
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "timeout"
        assert response.headers["retry-after"]
        time.sleep(1.5)  # the batch ends; its cancelled callers are skipped, the service lives
        assert httpx.get(f"{url}/readyz").status_code == 200
