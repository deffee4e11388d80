"""The CLI suites' shared app fixture and runner."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from costbot.cli import app as costbot_app
from storage.settings import DatabaseSettings


@pytest.fixture
def app(db_settings: DatabaseSettings, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """The costbot CLI on the test database (SQLite and PostgreSQL)."""
    monkeypatch.setenv("COSTBOT_DATABASE__URL", db_settings.url)
    return costbot_app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    """Run the CLI in process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr
