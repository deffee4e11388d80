"""`costbot forecast` and `costbot whatif` through the real CLI on SQLite and PostgreSQL; `costbot
--help` does not load statsmodels or torch."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from costbot.cli import app as costbot_app
from storage.settings import DatabaseSettings
from storage.types import utc_now
from tests.costing.conftest import insert_rows
from tests.factories import inference_row


@pytest.fixture
def app(db_settings: DatabaseSettings, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("COSTBOT_DATABASE__URL", db_settings.url)
    return costbot_app


def _invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _three_weeks(engine: Engine) -> None:
    now = utc_now()
    rows = [
        inference_row(created_at=now - timedelta(days=d), cost_compute_pico=(d % 7 + 1) * 10**9)
        for d in range(1, 22)
    ]
    insert_rows(engine, rows)


def test_forecast_json_has_the_promised_keys(app: typer.Typer, engine: Engine) -> None:
    _three_weeks(engine)
    assert _invoke(app, "budget", "set", "100")[0] == 0
    code, out, err = _invoke(app, "forecast", "--period", "month", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"projected_cost", "interval", "method", "backtest_mape", "currency"} <= set(data)
    assert set(data["interval"]) >= {"low", "high"}
    assert data["budgets"][0]["exhaustion_date"] is None  # a few cents against 100 USD
    code, out, _ = _invoke(app, "forecast")
    assert code == 0 and "projected cost" in out and "backtest MAPE" in out


def test_whatif_json_lists_options_with_provenance(app: typer.Typer, engine: Engine) -> None:
    _three_weeks(engine)
    code, out, err = _invoke(app, "whatif", "--period", "week", "--json")
    assert code == 0, err
    options = json.loads(out)["options"]
    assert [o["provenance"] for o in options] == [
        "measured",
        "configured",
        "estimated",
        "configured",
    ]
    assert all({"name", "cost_per_1000_messages"} <= set(o) for o in options)


def test_bad_periods_are_one_line_errors(app: typer.Typer, engine: Engine) -> None:
    code, _, err = _invoke(app, "forecast", "--period", "fortnight")
    assert code == 2 and err.count("\n") == 1 and "expected one of month|7d|30d" in err
    code, _, err = _invoke(app, "whatif", "--period", "fortnight")
    assert code == 2 and err.count("\n") == 1 and "bad period 'fortnight'" in err
    code, _, err = _invoke(app, "forecast")
    assert code == 2 and "at least 7 whole days" in err  # an empty database


def test_help_does_not_load_statsmodels_or_torch() -> None:
    probe = (
        "import sys; from costbot.cli import app; from typer.testing import CliRunner; "
        "CliRunner().invoke(app, ['--help']); "
        "print(sorted(m for m in ('statsmodels', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
