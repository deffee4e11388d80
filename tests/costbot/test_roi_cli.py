"""`costbot roi --period P --json`: the keys #12 asks for, beside the ones it always had, on
SQLite and PostgreSQL, with the outcome counts and money figured by hand."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from storage.tables import SupportConversation, new_uid
from storage.types import utc_now
from tests.costing.conftest import insert_rows

KEPT = {
    "from", "to", "timezone", "currency", "resolved", "escalated", "calls", "value", "cost",
    "operating", "inference", "idle", "training_amortised", "training_total", "roi",
    "payback_days", "break_even_per_month", "measured_share", "inputs", "sources",
}  # fmt: skip
ASKED = {
    "roi_percent", "value_usd", "cost_usd", "containment_rate", "recontact_rate",
    "escalation_rate", "outcomes",
}  # fmt: skip


def _conversation(days_ago: int, **facts: Any) -> dict[str, Any]:
    opened = utc_now() - timedelta(days=days_ago)
    return {
        "uid": new_uid(), "opened_at": opened, "last_message_at": opened,
        "closed_at": opened + timedelta(minutes=30), "source_kind": "console", "channel_id": 7,
        "user_hash": new_uid(), "state": "closed", "closed_by": "timeout", "messages": 1,
        "answers": 1, "fallbacks": 0, "escalation_reason": "",
        "person_requested_after_answer": False, "solved": False,
    } | facts  # fmt: skip


def _roi(app: typer.Typer, *args: str) -> Any:
    result = CliRunner().invoke(app, ["roi", *args])
    return result.exit_code, result.stdout, result.stderr


def test_roi_period_json_has_the_asked_keys_and_keeps_the_old_ones(
    app: typer.Typer, engine: Engine
) -> None:
    insert_rows(
        engine,
        [
            _conversation(3), _conversation(3), _conversation(3),  # contained
            _conversation(4, solved=True, closed_by="customer"),  # confirmed
            _conversation(4, answers=0, escalation_reason="intent unknown"),  # escalated
        ],
        SupportConversation,
    )  # fmt: skip
    code, out, _ = _roi(app, "--period", "week", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= KEPT | ASKED
    assert data["outcomes"] == {
        "contained": 3, "confirmed": 1, "reopened": 0, "escalated": 1, "pending": 0,
        "unanswered": 0,
    }  # fmt: skip
    assert data["containment_rate"] == pytest.approx(4 / 5)
    assert data["escalation_rate"] == pytest.approx(1 / 5) and data["recontact_rate"] == 0
    assert data["value_usd"] == data["value"] == "24"  # 4 × 6.00 USD
    assert data["cost_usd"] == data["cost"] == "0"  # no records, no deployed model
    assert data["roi_percent"] is None  # nothing spent: no ratio
    assert json.loads(_roi(app, "week", "--json")[1])["outcomes"] == data["outcomes"]


def test_two_different_periods_are_one_line_and_exit_2(app: typer.Typer, engine: Engine) -> None:
    code, _, err = _roi(app, "month", "--period", "week", "--json")
    assert code == 2 and err.count("\n") == 1 and err.startswith("costbot: two periods")
