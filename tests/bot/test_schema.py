"""Every slash command's schema (as synced to Discord) matches the command layer's spec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.commands.spec import SPECS, CommandSpec
from bot.discord_app.app import BotDeps
from bot.settings import BotConfig
from storage.settings import DatabaseSettings
from tests.bot.discord_harness import Harness, start_harness

STRING, INTEGER, NUMBER = 3, 4, 10
KIND = {"string": STRING, "integer": INTEGER, "number": NUMBER}


@pytest.fixture
async def offline_harness(tmp_path: Any) -> AsyncIterator[Harness]:
    """The bot without service or database: the schema needs neither."""
    settings = BotConfig(database=DatabaseSettings())
    async with httpx.AsyncClient() as http:
        harness = await start_harness(
            settings,
            http,
            deps=BotDeps(
                session_factory=lambda: None,  # type: ignore[arg-type, return-value]
                record=lambda _: None,
            ),
        )
        yield harness
        await harness.bot.close()


def discord_path(spec: CommandSpec) -> str:
    """Where Discord shows a command: the ones that change settings sit in the /admin group."""
    return f"admin {spec.name}" if spec.manage else spec.name


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
async def test_command_schema_matches_spec(offline_harness: Harness, spec: CommandSpec) -> None:
    data = offline_harness.command(discord_path(spec)).to_dict(offline_harness.bot.tree)
    assert data["name"] == spec.name.split()[-1]
    assert data["description"] == spec.description and len(spec.description) <= 100
    options = {o["name"]: o for o in data.get("options", [])}
    assert list(options) == sorted(options, key=[o.name for o in spec.options].index)
    assert set(options) == {o.name for o in spec.options}
    for option in spec.options:
        synced = options[option.name]
        assert synced["type"] == KIND[option.kind]
        assert synced["description"] == option.description
        assert synced["required"] == option.required
        assert [c["value"] for c in synced.get("choices", [])] == list(option.choices)
        if option.min_value is not None:
            assert synced["min_value"] == option.min_value
            assert synced["max_value"] == option.max_value
        if option.max_length is not None:
            assert synced["max_length"] == option.max_length


async def test_every_top_level_command_is_synced(offline_harness: Harness) -> None:
    names = {c.name for c in offline_harness.bot.tree.get_commands()}
    assert names == {discord_path(s).split()[0] for s in SPECS}
    assert len(names) <= 100
