"""`costbot forecast` and `costbot whatif` through the real CLI on SQLite and PostgreSQL; `costbot
--help` does not load statsmodels or torch."""

from __future__ import annotations

import json
import subprocess
import sys

import typer
from sqlalchemy import Engine

from tests.costbot.conftest import invoke
from tests.costing.conftest import three_weeks


def test_forecast_json_has_the_promised_keys(app: typer.Typer, engine: Engine) -> None:
    three_weeks(engine)
    assert invoke(app, "budget", "set", "100")[0] == 0
    code, out, err = invoke(app, "forecast", "--period", "month", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"projected_cost", "interval", "method", "backtest_mape", "currency"} <= set(data)
    assert set(data["interval"]) >= {"low", "high"}
    assert data["budgets"][0]["exhaustion_date"] is None  # a few cents against 100 USD
    code, out, _ = invoke(app, "forecast")
    assert code == 0 and "projected cost" in out and "backtest MAPE" in out


def test_whatif_json_lists_options_with_provenance(app: typer.Typer, engine: Engine) -> None:
    three_weeks(engine)
    code, out, err = invoke(app, "whatif", "--period", "week", "--json")
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
    code, _, err = invoke(app, "forecast", "--period", "fortnight")
    assert code == 2 and err.count("\n") == 1 and "expected one of month|7d|30d" in err
    code, _, err = invoke(app, "whatif", "--period", "fortnight")
    assert code == 2 and err.count("\n") == 1 and "bad period 'fortnight'" in err
    code, _, err = invoke(app, "forecast")
    assert code == 2 and "at least 7 whole days" in err  # an empty database


def test_help_does_not_load_statsmodels_or_torch() -> None:
    probe = (
        "import sys; from costbot.cli import app; from typer.testing import CliRunner; "
        "CliRunner().invoke(app, ['--help']); "
        "print(sorted(m for m in ('statsmodels', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
