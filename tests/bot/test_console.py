"""Console mode as a subprocess with piped stdin: every command, customer messages, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.console import CustomerMessage, ParsedCommand, parse_line
from bot.errors import OptionError
from bot.settings import BotConfig, ServiceEndpoint
from tests.bot.console_process import run_console

ROOT = Path(__file__).resolve().parents[2]
FIRST = """\
# a comment, then every command
/help
/classify my card has not arrived
"""
# Run after the classification's record is stored: the service writes records in batches.
SCRIPT = """\
/cost week day
/cost period:today group_by:model
/roi month
/budget set 25 all
/budget show
/prices set gpu_hour 3.5
/prices show
/report now
/models
/health
my card has not arrived
this is terrible, worst bank ever
/frobnicate now
/classify
/cost 2099-01-01..2099-01-31
/budget set -3
/budget
/prices set shoe_price 3
"""


def _run_console(settings: BotConfig, tmp_path: Path, script: str) -> str:
    done = run_console(settings, tmp_path, script, "--charts-dir", str(tmp_path / "charts"))
    assert done.returncode == 0, done.stderr
    assert " INFO " not in done.stdout + done.stderr  # library chatter never joins a reply
    return done.stdout


def _wait_for_records(settings: BotConfig, count: int, timeout: float = 15.0) -> None:
    from sqlalchemy import func, select
    from sqlmodel import Session

    from storage.db import create_db_engine
    from storage.tables import InferenceRecord

    engine = create_db_engine(settings.database)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                query = select(func.count()).select_from(InferenceRecord)
                if session.exec(query).one()[0] >= count:  # type: ignore[call-overload]
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError(f"fewer than {count} inference records after {timeout}s")


def test_console_answers_every_command_and_bad_input(settings: BotConfig, tmp_path: Path) -> None:
    first = _run_console(settings, tmp_path, FIRST)
    _wait_for_records(settings, 1)
    rest = _run_console(settings, tmp_path, SCRIPT)
    blocks = (first.strip() + "\n\n" + rest.strip()).split("\n\n")
    answers = [b for b in blocks if b.strip()]
    assert len(answers) == 20, answers
    (
        help_,
        classify,
        cost_week,
        cost_model,
        roi,
        budget_set,
        budget_show,
        prices_set,
        prices_show,
        report,
        models,
        health,
        resolved,
        escalated,
        unknown,
        missing,
        future,
        negative,
        no_sub,
        bad_key,
    ) = answers
    assert "/budget set limit [scope] [value]" in help_
    assert "intent: **card_arrival**" in classify and "(estimated" in classify
    assert "Cost: week" in cost_week and "By component: compute" in cost_week
    assert "Cost: today" in cost_model and "all-MiniLM" in cost_model
    assert "ROI: month" in roi and "contained (measured)" in roi
    assert "25.00 USD" in budget_set and "all: " in budget_show
    assert "gpu_hour set to 3.5" in prices_set and "gpu_hour: 3.5" in prices_show
    assert "Summary: today" in report and "[chart saved to" in report
    assert (tmp_path / "charts" / "cost-per-day.png").read_bytes().startswith(b"\x89PNG")
    assert "intent: version" in models and "database: ok" in health
    assert resolved.startswith("bot: Cards usually arrive") and "[resolved: template" in resolved
    assert "person from the team" in escalated and "[escalated: " in escalated
    assert "sentiment negative" in escalated
    assert unknown.startswith("error: Unknown command `/frobnicate`")
    assert missing.startswith("error: `/classify` needs `text`")
    assert future.startswith("error: period") and "future" in future
    assert "out of range" in negative
    assert no_sub.startswith("error: `/budget` needs a subcommand: show, set")
    assert "must be one of" in bad_key
    assert "Traceback" not in "\n".join(answers)


def test_console_says_what_to_do_when_the_service_is_down(
    settings: BotConfig, tmp_path: Path, unused_url: str
) -> None:
    down = replace(settings, service=ServiceEndpoint(url=unused_url))
    out = _run_console(down, tmp_path, "/classify hello\nhello there\n")
    command, support = out.strip().split("\n\n")
    assert command.startswith("error: The model service") and "costbot serve" in command
    assert "person from the team" in support and "model service unavailable" in support


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "/classify my card: has = not arrived",
            ParsedCommand("classify", {"text": "my card: has = not arrived"}),
        ),
        ("/cost", ParsedCommand("cost", {})),
        ("/cost group_by=model", ParsedCommand("cost", {"group_by": "model"})),
        (
            "/cost 2026-01-01..2026-01-31 day",
            ParsedCommand("cost", {"period": "2026-01-01..2026-01-31", "group_by": "day"}),
        ),
        (
            "/budget set 10 model all-MiniLM-L6-v2",
            ParsedCommand(
                "budget set", {"limit": "10", "scope": "model", "value": "all-MiniLM-L6-v2"}
            ),
        ),
        ("/Prices SHOW", ParsedCommand("prices show", {})),
        ("  hello bank  ", CustomerMessage("hello bank")),
        ("# comment", None),
        ("", None),
    ],
)
def test_parse_line(line: str, expected: object) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize("line", ["/", "/report", "/help me please", "/budget remove"])
def test_parse_line_refuses_bad_shapes(line: str) -> None:
    with pytest.raises(OptionError):
        parse_line(line)


def test_up_without_token_says_how_to_set_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    (tmp_path / "empty.toml").touch()
    env.update(PYTHONPATH=str(ROOT), COSTBOT_CONFIG=str(tmp_path / "empty.toml"))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv[0] = 'costbot'; from costbot.cli import main; main()",
            "up",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "DISCORD_TOKEN is not set" in done.stderr and "Traceback" not in done.stderr
