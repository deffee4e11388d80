"""The demo's month: built from a support day, it holds the outage, the price change, the spike
and the budget alerts, writes its charts, and two runs give the same figures. The day here is a
small hand-made one (the real demo replays its day through the model service)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import col

from costbot.demo.month import (
    OUTAGE_REASON,
    PRICE_DAY,
    SPIKE_CALLS,
    SPIKE_DAY,
    WALL_US,
)
from costbot.demo.month_report import MonthResult, run_month
from costing.prices import Prices, store_version
from costing.settings import CostingSettings
from storage.db import SessionFactory, create_db_engine, session_factory
from storage.migrate import upgrade
from storage.settings import DatabaseSettings
from storage.tables import InferenceRecord, SupportConversation, SupportEvent, SupportOutcome
from tests.costing.conftest import insert_rows
from tests.factories import at, inference_row

DAY = at("2026-12-01T00:00")  # a Tuesday
SETTINGS = CostingSettings()


def _conversation(uid: str, hour: int, **facts: Any) -> dict[str, Any]:
    opened = DAY + timedelta(hours=hour)
    row = {
        "uid": uid,
        "opened_at": opened,
        "last_message_at": opened,
        "closed_at": opened + timedelta(hours=1),
        "source_kind": "console",
        "user_hash": f"customer-{uid}",
        "state": "closed",
        "closed_by": "idle",
        "messages": 1,
        "answers": 1,
    }
    return {**row, **facts}


def _support_day(engine: Engine, sessions: SessionFactory) -> None:
    """Three conversations (answered, confirmed by the customer, escalated), their outcomes,
    the feedback event and the inference records, as the real day leaves them."""
    store_version(
        sessions, prices=Prices.from_settings(SETTINGS.prices), valid_from=DAY, changed_by="x"
    )
    convs = [
        _conversation("c1", 9),
        _conversation("c2", 11, solved=True, closed_by="customer"),
        _conversation("c3", 12, answers=0, escalation_reason="intent unknown", closed_by="agent"),
    ]
    outcomes, records = [], []
    for conv, outcome in zip(convs, ("resolved", "resolved", "escalated"), strict=True):
        request = f"r-{conv['uid']}"
        moment = conv["opened_at"]
        outcomes.append(
            {
                "uid": f"o-{conv['uid']}",
                "created_at": moment,
                "request_id": request,
                "source_kind": "console",
                "outcome": outcome,
                "conversation_uid": conv["uid"],
                "user_hash": conv["user_hash"],
            }
        )
        records.append(
            inference_row(
                created_at=moment,
                request_id=request,
                source_kind="console",
                command="support",
                wall_us=WALL_US,
                cpu_us=WALL_US,
            )
        )
    event = {
        "uid": "e1",
        "created_at": convs[1]["opened_at"],
        "conversation_uid": "c2",
        "request_id": "r-c2",
        "kind": "solved",
    }
    insert_rows(engine, convs, SupportConversation)
    insert_rows(engine, outcomes, SupportOutcome)
    insert_rows(engine, [event], SupportEvent)
    insert_rows(engine, records)


def _month(engine: Engine, sessions: SessionFactory, workdir: Path) -> MonthResult:
    _support_day(engine, sessions)
    workdir.mkdir(exist_ok=True)
    return run_month(engine, sessions, settings=SETTINGS, day=DAY, workdir=workdir)


def _figures(result: MonthResult) -> str:
    return json.dumps(
        {
            "forecast": result.forecast.to_json(),
            "roi": result.roi.to_json(),
            "whatif": result.whatif.to_json(),
            "alerts": [r.title for r in result.alerts],
            "payback": str(result.payback.payback_day()),
        },
        sort_keys=True,
        default=str,
    )


def test_the_month_holds_its_events_and_alerts(
    engine: Engine, sessions: SessionFactory, tmp_path: Path
) -> None:
    result = _month(engine, sessions, tmp_path)
    titles = [r.title for r in result.alerts]
    assert any(t.startswith("Budget forecast: channel 777 projected to exceed on") for t in titles)
    spike_day = (DAY + timedelta(days=SPIKE_DAY)).date()
    assert any(t.startswith("Spend spike: ") and t.endswith(f"on {spike_day}") for t in titles)
    assert any(t.endswith("at 100%") for t in titles)
    with engine.connect() as connection:
        reasons = connection.execute(select(col(SupportOutcome.reason))).scalars().all()
        rows = connection.execute(
            select(
                col(InferenceRecord.created_at),
                col(InferenceRecord.cost_compute_pico),
                col(InferenceRecord.cpu_us),
                col(InferenceRecord.command),
            )
        ).all()
    assert OUTAGE_REASON in reasons
    change = DAY + timedelta(days=PRICE_DAY)
    before = {
        round(1000 * r.cost_compute_pico / r.cpu_us) for r in rows if _utc(r.created_at) < change
    }
    after = {
        round(1000 * r.cost_compute_pico / r.cpu_us) for r in rows if _utc(r.created_at) >= change
    }
    assert before == {12_500} and after == {
        16_667
    }  # 0.045 and 0.06 per core-hour: pico per ms of CPU
    assert sum(r.command == "classify" for r in rows) >= SPIKE_CALLS
    assert all(p.is_file() and p.read_bytes().startswith(b"\x89PNG") for p in result.charts)


def _utc(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_two_runs_give_the_same_figures(tmp_path: Path) -> None:
    results = []
    for name in ("a", "b"):
        engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / name}.db"))
        upgrade(engine)
        results.append(_figures(_month(engine, session_factory(engine), tmp_path / name)))
        engine.dispose()
    assert results[0] == results[1]
