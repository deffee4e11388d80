"""One database, the same figures everywhere: the CLI's tables and JSON, the chat's replies and
the charts show a cost and an ROI the same way (costing.figures), and JSON carries exact values."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.commands import CommandContext, Invoker, run_command
from bot.service_client import ModelServiceClient
from costbot.cli import app
from costing import figures
from costing.charts import cost_source
from costing.cost_report import cost_report
from costing.prices import PriceBook
from costing.roi_report import roi_report
from costing.settings import CostingSettings
from costing.units import Money
from storage.db import SessionFactory
from storage.settings import DatabaseSettings
from storage.tables import SupportOutcome
from storage.types import utc_now
from tests.costing.conftest import insert_rows, outcome_row
from tests.factories import inference_row

COSTING = CostingSettings()


@pytest.fixture
def recorded(
    engine: Engine, db_settings: DatabaseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few inferences and outcomes from the last seconds; the CLI reads the same database."""
    monkeypatch.setenv("COSTBOT_DATABASE__URL", db_settings.url)
    moment = utc_now() - timedelta(seconds=2)
    insert_rows(engine, [inference_row(created_at=moment) for _ in range(7)])
    outcomes = [outcome_row(created_at=moment, outcome=o) for o in ("resolved", "escalated")]
    insert_rows(engine, outcomes, SupportOutcome)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.stdout


async def _chat(sessions: SessionFactory, name: str) -> str:
    async with httpx.AsyncClient() as http:
        unused = ModelServiceClient(http, base_url="http://127.0.0.1:9", timeout_s=1)
        ctx = CommandContext(service=unused, session_factory=sessions, costing=COSTING)
        reply = await run_command(ctx, Invoker(), name, {"period": "today"})
    assert not reply.is_error, reply.text
    return "\n".join([reply.text, *(f"{f.name}: {f.value}" for f in reply.fields)])


async def test_a_cost_is_shown_the_same_everywhere(
    recorded: None, sessions: SessionFactory
) -> None:
    now = utc_now()
    book = PriceBook(sessions, defaults=COSTING.prices)
    report = cost_report(sessions, period="today", group_by="day", now=now, prices=book)
    total = figures.money(report.total_with_idle, report.currency)
    assert report.total.count == 7 and "e-" not in total
    assert total in _cli("cost", "today")
    assert total in await _chat(sessions, "cost")
    assert figures.money(report.total.total, report.currency) in cost_source(report)
    exact = json.loads(_cli("cost", "today", "--json"))["total_with_idle"]
    assert Money.from_decimal(exact) == report.total_with_idle


async def test_an_roi_is_shown_the_same_everywhere(
    recorded: None, sessions: SessionFactory
) -> None:
    book = PriceBook(sessions, defaults=COSTING.prices)
    answer = roi_report(
        sessions, period="today", now=utc_now(), prices=book, roi_settings=COSTING.roi
    )
    shown = figures.percent(answer.roi)
    assert shown.endswith("%")
    assert shown in _cli("roi", "today")
    assert f"ROI: {shown}" in await _chat(sessions, "roi")
    value = figures.money(answer.value, answer.currency)
    assert value in _cli("roi", "today") and value in await _chat(sessions, "roi")
    data = json.loads(_cli("roi", "today", "--json"))
    assert Money.from_decimal(data["value"]) == answer.value
    assert data["inputs"]["human_ticket_cost"] == ["6.00"]


def test_help_says_what_the_period_words_mean() -> None:
    text = " ".join(_cli("cost", "--help").split())
    assert "week: the last 7 local days, today included" in text
    assert "month: this calendar month until now" in text
