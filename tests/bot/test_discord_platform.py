"""Discord's own means, through discord.py's objects: the admin group's default permissions and
contexts, guild-only commands, private admin answers with an audit line, no mentions by
default, per-user per-command cooldowns, per-author support rate limits, and shards."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from discord.ext import commands
from pydantic import ValidationError

from bot.settings import BotConfig, DiscordSettings
from storage.db import SessionFactory
from tests.bot.discord_harness import MANAGE_GUILD, Call, Harness
from tests.bot.discord_setup import logged_in, with_discord

DEFERRED = 5
AUDIT_CHANNEL = 700_000_000_000_000_099
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
SERVER_DATA = ["cost", "roi", "report now", "budget show", "prices show", "models", "health"]


def answer(calls: list[Call]) -> Call:
    """The one message a command answered with: at once, or after its defer."""
    if calls and calls[0].body.get("type") == DEFERRED:
        [call] = [c for c in calls[1:] if c.method == "POST"]
        return call
    [call] = calls
    return call


def synced(harness: Harness) -> dict[str, dict[str, Any]]:
    """The command payloads the bot sent Discord at login, by name."""
    [sync] = [c for c in harness.http.calls if c.method == "PUT" and "commands" in c.path]
    payload: list[dict[str, Any]] = sync.body  # type: ignore[assignment]
    return {command["name"]: command for command in payload}


@pytest.fixture
async def harness(settings: BotConfig, sessions: SessionFactory) -> Any:
    config = with_discord(settings, audit_channel_id=AUDIT_CHANNEL)
    async with logged_in(config, sessions) as h:
        yield h


async def test_the_admin_group_is_hidden_by_discord_and_server_only(harness: Harness) -> None:
    commands_ = synced(harness)
    admin = commands_["admin"]
    assert int(admin["default_member_permissions"]) == MANAGE_GUILD
    assert admin["contexts"] == [0]  # guild only
    names = {o["name"]: {s["name"] for s in o["options"]} for o in admin["options"]}
    assert names == {"budget": {"set", "delete"}, "prices": {"set"}}
    assert "set" not in {o["name"] for o in commands_["budget"]["options"]}
    for name in ("cost", "roi", "report", "budget", "prices", "models", "health"):
        assert commands_[name]["contexts"] == [0], name
        assert commands_[name].get("default_member_permissions") is None, name
    for name in ("help", "classify"):
        assert commands_[name].get("contexts") != [0], name


async def test_a_member_without_manage_server_is_refused_privately(harness: Harness) -> None:
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("admin budget set", {"limit": 10.0}),
        ("admin budget delete", {"scope": "all"}),
        ("admin prices set", {"key": "gpu_hour", "value": 9.0}),
    ]
    for name, options in attempts:
        refused = answer(await harness.invoke(name, **options))
        assert refused.ephemeral and "needs the Manage Server permission" in refused.text, name
    shown = answer(await harness.invoke("budget show"))
    assert "No budgets yet" in shown.text
    assert not [c for c in harness.http.calls if c.path == "/channels/{channel_id}/messages"]


async def test_admin_answers_are_private_and_leave_an_audit_line(harness: Harness) -> None:
    done = answer(await harness.invoke("admin budget set", limit=25.0, permissions=MANAGE_GUILD))
    assert done.ephemeral and "Budget for all set to" in done.text
    [audit] = [c for c in harness.http.calls if c.path == "/channels/{channel_id}/messages"]
    assert "<@1001>" in audit.body["content"] and "`/admin budget set`" in audit.body["content"]
    assert "Budget for all set to" in audit.body["content"]
    assert audit.body["allowed_mentions"] == NO_MENTIONS  # the name shows, nobody is pinged
    assert "25" in answer(await harness.invoke("budget show")).text


async def test_commands_on_server_data_refuse_direct_messages(harness: Harness) -> None:
    for name in SERVER_DATA:
        refused = answer(await harness.invoke(name, guild=False))
        assert refused.ephemeral and "works in a server only" in refused.text, name
    assert "costbot commands" in answer(await harness.invoke("help", guild=False)).text


async def test_nothing_the_bot_sends_mentions_anyone_by_default(harness: Harness) -> None:
    assert harness.bot.allowed_mentions is not None
    assert harness.bot.allowed_mentions.to_dict() == NO_MENTIONS
    assert answer(await harness.invoke("help")).body["data"]["allowed_mentions"] == NO_MENTIONS
    followed = answer(await harness.invoke("classify", text="my card has not arrived"))
    assert followed.body["allowed_mentions"] == NO_MENTIONS  # a follow-up after the defer
    echoed = await harness.invoke(
        "admin budget set", limit=5.0, scope="model", value="@everyone", permissions=MANAGE_GUILD
    )
    sent = [c for c in echoed if c.method == "POST"] + [
        c for c in harness.http.calls if c.path == "/channels/{channel_id}/messages"
    ]
    assert sent
    for call in sent:
        assert call.data["allowed_mentions"] == NO_MENTIONS, call


async def test_cooldown_is_per_user_and_per_command(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    async with logged_in(with_discord(settings, cooldown_s=60), sessions) as h:
        assert "Cost" in answer(await h.invoke("cost", user_id=1)).text
        assert "ROI" in answer(await h.invoke("roi", user_id=1)).text  # another command: fine
        slowed = answer(await h.invoke("cost", user_id=1))
        assert slowed.ephemeral and re.search(r"Slow down a little: try again in \d+s", slowed.text)
        assert "Cost" in answer(await h.invoke("cost", user_id=2)).text


async def test_idle_cooldowns_are_forgotten(settings: BotConfig, sessions: SessionFactory) -> None:
    async with logged_in(with_discord(settings, cooldown_s=0.2), sessions) as h:
        for user_id in (1, 2, 3):
            await h.invoke("help", user_id=user_id)
        await asyncio.sleep(0.3)
        await h.invoke("help", user_id=4)
        mapping = h.bot.command_cooldowns
        assert mapping is not None and set(mapping._cache) == {(4, "help")}


async def test_support_messages_are_rate_limited_per_author(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    config = with_discord(settings, support_rate=2, support_per_s=60)
    async with logged_in(config, sessions) as h:
        for _ in range(2):
            [answered] = await h.message("my card has not arrived", user_id=2001)
            assert "faster" not in answered.body["content"]
        [notice] = await h.message("my card has not arrived", user_id=2001)
        assert "writing faster than we can answer" in notice.body["content"]
        assert notice.body["allowed_mentions"]["parse"] == []
        assert await h.message("my card has not arrived", user_id=2001) == []  # told once
        assert len(h.records) == 2  # neither over-rate message was classified or costed
        [other] = await h.message("my card has not arrived", user_id=2002)
        assert "faster" not in other.body["content"] and len(h.records) == 3


async def test_shard_settings_reach_the_auto_sharded_bot(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    config = with_discord(settings, shard_count=4, shard_ids=[1, 2])
    async with logged_in(config, sessions) as h:
        assert isinstance(h.bot, commands.AutoShardedBot)
        assert (h.bot.shard_count, h.bot.shard_ids) == (4, [1, 2])
        # Shard 0 runs elsewhere: that process syncs the commands, this one never does.
        assert not [c for c in h.http.calls if c.method == "PUT"]
    async with logged_in(with_discord(settings, shard_count=2, shard_ids=[0]), sessions) as h:
        assert [c for c in h.http.calls if c.method == "PUT"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shard_ids": [0]}, "discord.shard_ids needs discord.shard_count"),
        ({"shard_count": 2, "shard_ids": [2]}, "distinct ids from 0 to 1"),
        ({"shard_count": 2, "shard_ids": [1, 1]}, "distinct ids from 0 to 1"),
        ({"shard_count": 0}, "greater than or equal to 1"),
    ],
)
def test_shard_settings_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DiscordSettings(**options)
