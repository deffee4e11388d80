from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, text

from costing.units import Money
from storage.types import utc_now
from tests.costbot.conftest import invoke
from tests.costing.conftest import insert_rows
from tests.factories import inference_row


def test_report_json_totals_match_the_records(app: typer.Typer, engine: Engine) -> None:
    rows = [inference_row(created_at=utc_now() - timedelta(seconds=i + 1)) for i in range(5)]
    insert_rows(engine, rows)
    code, out, _ = invoke(app, "cost", "today", "--group-by", "model", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"]["count"] == 5
    expected = sum(r["cost_compute_pico"] + r["cost_energy_pico"] for r in rows)
    assert Money.from_decimal(data["total"]["cost"]) == Money(expected)
    assert [g["key"] for g in data["groups"]] == ["all-MiniLM-L6-v2@test"]


def test_human_tables_and_the_job_run(app: typer.Typer, engine: Engine) -> None:
    insert_rows(engine, [inference_row(created_at=utc_now() - timedelta(seconds=1))])
    assert invoke(app, "aggregate")[0] == 0
    code, out, _ = invoke(app, "cost", "today")
    totals = [line for line in out.splitlines() if line.startswith("│ total ")]
    assert code == 0 and len(totals) == 1  # the total once, in the components table
    code, out, _ = invoke(app, "roi", "week", "--json")
    assert code == 0 and json.loads(out)["resolved"] == 0


def test_prices_set_makes_a_new_version(app: typer.Typer, engine: Engine) -> None:
    assert invoke(app, "prices", "set", "pue", "1.25")[0] == 0
    code, out, _ = invoke(app, "prices", "show", "--json")
    assert code == 0
    shown = json.loads(out)
    assert (shown["prices"]["pue"], shown["changed_by"]) == ("1.25", "cli")


def test_budget_set_and_show(app: typer.Typer, engine: Engine) -> None:
    assert invoke(app, "budget", "set", "12.5", "channel", "42")[0] == 0
    _, out, _ = invoke(app, "budget", "show", "--json")
    assert json.loads(out)["budgets"][0]["limit"] == "12.5"
    assert invoke(app, "budget", "delete", "channel", "42")[1] == (
        "Budget for channel 42 deleted, with its alerts.\n"
    )
    _, out, _ = invoke(app, "budget", "show", "--json")
    assert json.loads(out)["budgets"] == []


def test_chart_writes_a_png(app: typer.Typer, engine: Engine, tmp_path: Path) -> None:
    insert_rows(engine, [inference_row(created_at=utc_now() - timedelta(seconds=1))])
    for kind in ("cost", "value"):
        path = tmp_path / f"{kind}.png"
        assert invoke(app, "chart", kind, "--out", str(path))[0] == 0
        assert path.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "fortnight"),
        ("cost", "--group-by", "colour"),
        ("roi", "2026-05-01..2026-04-01"),
        ("prices", "set", "nonsense", "1"),
        ("prices", "set", "pue", "abc"),
        ("budget", "set", "5", "galaxy"),
        ("budget", "set", "lots", "all"),
        ("budget", "set", "5", "channel", "\u00b2"),
        ("budget", "set", "5", "channel", str(10**23)),
        ("budget", "set", "5", "model", "never-ran"),
        ("budget", "delete", "channel", "42"),
        ("chart", "pie", "--out", "x.png"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    app: typer.Typer, engine: Engine, args: tuple[str, ...]
) -> None:
    code, out, err = invoke(app, *args)
    assert code == 2
    assert err.startswith("costbot: ") and err.count("\n") == 1
    assert "Traceback" not in out + err


def test_aggregate_rebuild_refolds_a_corrected_record(app: typer.Typer, engine: Engine) -> None:
    insert_rows(engine, [inference_row(created_at=utc_now() - timedelta(days=2))])
    assert invoke(app, "aggregate")[0] == 0  # sees the horizon; folds once it has settled
    with engine.begin() as connection:
        connection.execute(text("UPDATE job_state SET updated_at = :t"), {"t": _past(engine)})
    assert invoke(app, "aggregate")[0] == 0
    with engine.begin() as connection:
        connection.execute(text("UPDATE inference_record SET cost_compute_pico = 7"))
    day = (utc_now() - timedelta(days=3)).date().isoformat()
    code, out, _ = invoke(app, "aggregate", "--rebuild", "--from", day, "--json")
    assert code == 0
    assert json.loads(out)["rebuild"]["folded"] == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT cost_compute_pico FROM cost_rollup")).all() == [(7,)]
    code, _, err = invoke(app, "aggregate", "--from", day)
    assert code == 2 and err.strip() == "costbot: --from needs --rebuild"


def _past(engine: Engine) -> object:
    moment = utc_now() - timedelta(hours=1)
    return moment.replace(tzinfo=None) if engine.dialect.name == "sqlite" else moment
