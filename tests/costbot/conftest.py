"""The CLI and settings suites' shared fixtures: the app, its runner, a config file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from costbot.cli import app as costbot_app
from costbot.errors import SettingsError
from costbot.settings import load_settings
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


@pytest.fixture
def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """A writer: `use_config(toml)` writes tmp_path/costbot.toml and points COSTBOT_CONFIG at it."""

    def write(toml: str) -> Path:
        config = tmp_path / "costbot.toml"
        config.write_text(toml)
        monkeypatch.setenv("COSTBOT_CONFIG", str(config))
        return config

    return write


def load_error() -> str:
    """The message load_settings refuses the present file and environment with."""
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)
