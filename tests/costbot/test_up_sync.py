"""`costbot up` syncs slash commands on request (`--sync`) or when they changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.settings import BotConfig
from costbot.cli import app
from costbot.up import sync_record_path
from storage.settings import DatabaseSettings


@pytest.mark.parametrize(
    ("flags", "mode", "schedulers"),
    [
        ((), "changed", True),
        (("--sync",), "always", True),
        (("--no-schedulers",), "changed", False),
    ],
)
def test_up_passes_the_sync_mode_and_whether_to_schedule(
    monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], mode: str, schedulers: bool
) -> None:
    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        "costbot.up.run_up",
        lambda bot, service, *, sync_commands, schedulers: seen.append((sync_commands, schedulers)),
    )
    result = CliRunner().invoke(app, ["up", "--no-service", *flags])
    assert result.exit_code == 0, result.output
    assert seen == [(mode, schedulers)]


def test_the_sync_record_lives_beside_the_spool(tmp_path: Path) -> None:
    database = DatabaseSettings(url="sqlite://", spool_path=tmp_path / "x" / "spool.jsonl")
    assert (
        sync_record_path(BotConfig(database=database)) == tmp_path / "x" / "costbot-commands.json"
    )
