"""The Discord adapter through discord.py's own objects: real bot, interactions; HTTP recorded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.conversations import CustomerKey
from bot.settings import BotConfig, ServiceEndpoint
from bot.support import hash_user, load_templates
from storage.db import SessionFactory
from tests.bot.discord_harness import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    Harness,
    within_limits,
)
from tests.bot.discord_setup import logged_in, with_discord

DEFERRED, MESSAGE = 5, 4


@pytest.fixture
async def harness(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[Harness]:
    """The bot against the real service, support channel and guild sync configured."""
    async with logged_in(with_discord(settings), sessions) as h:
        yield h


def _answer(calls: list[Any]) -> Any:
    """The one message a command answered with: at once, or after its defer (slow commands)."""
    if calls and calls[0].body.get("type") == DEFERRED:
        [call] = [c for c in calls[1:] if c.method == "POST"]
    else:
        [call] = calls
        assert call.path.endswith("/callback") and call.body["type"] == MESSAGE
    assert within_limits(call)
    return call


async def test_login_loads_cogs_and_syncs_to_the_test_guild(harness: Harness) -> None:
    cogs = {"ClassifyCog", "CostsCog", "PricesCog", "AdminCog", "InfoCog", "ErrorsCog"}
    assert cogs | {"SupportCog"} <= set(harness.bot.cogs)
    syncs = [c for c in harness.http.calls if c.method == "PUT"]
    assert [c.path for c in syncs] == ["/applications/{application_id}/guilds/{guild_id}/commands"]
    synced: list[dict[str, Any]] = syncs[0].body  # type: ignore[assignment]
    assert {c["name"] for c in synced} >= {"classify", "cost", "budget", "prices", "admin", "help"}


async def test_classify_answers_with_an_embed_of_labels_and_cost(harness: Harness) -> None:
    call = _answer(await harness.invoke("classify", text="my card has not arrived"))
    assert not call.ephemeral
    assert call.embeds[0]["title"] == "Classification"
    assert "intent: **card_arrival**" in call.text
    assert "Cost of this answer" in call.text and "(estimated" in call.text


async def test_slow_command_is_deferred_then_followed_up(harness: Harness) -> None:
    harness.bot.defer_after_s = 0.0
    calls = await harness.invoke("classify", text="where is my new card")
    assert [c.body.get("type") for c in calls[:1]] == [DEFERRED]
    assert calls[1].method == "POST" and calls[1].path == "/webhooks/{webhook_id}/{webhook_token}"
    assert "Classification" in calls[1].text


async def test_help_is_ephemeral(harness: Harness) -> None:
    call = _answer(await harness.invoke("help"))
    assert call.ephemeral and "/admin budget set" in call.text and "/budget show" in call.text


async def test_report_attaches_the_chart(harness: Harness) -> None:
    call = _answer(await harness.invoke("report now"))
    [(filename, data)] = call.files
    assert filename == "cost-per-day.png" and data.startswith(b"\x89PNG")
    assert call.embeds[0]["image"]["url"] == "attachment://cost-per-day.png"


async def test_set_commands_need_manage_server(harness: Harness) -> None:
    refused = _answer(await harness.invoke("admin prices set", key="gpu_hour", value=2.5))
    assert refused.ephemeral and "Manage Server" in refused.text
    allowed = _answer(
        await harness.invoke(
            "admin prices set", key="gpu_hour", value=2.5, permissions=MANAGE_GUILD
        )
    )
    assert "gpu_hour set to 2.5" in allowed.text and allowed.ephemeral
    in_dm = _answer(await harness.invoke("admin budget set", limit=10.0, guild=False))
    assert in_dm.ephemeral and "server only" in in_dm.text
    refused = _answer(await harness.invoke("admin budget delete", scope="all"))
    assert refused.ephemeral and "Manage Server" in refused.text


async def test_budget_delete_from_chat(harness: Harness) -> None:
    await harness.invoke("admin budget set", limit=10.0, permissions=MANAGE_GUILD)
    deleted = _answer(
        await harness.invoke("admin budget delete", scope="all", permissions=MANAGE_GUILD)
    )
    assert deleted.text == "Budget for all deleted, with its alerts."


async def test_out_of_range_option_is_refused_by_our_code(harness: Harness) -> None:
    call = _answer(await harness.invoke("admin budget set", limit=-5.0, permissions=MANAGE_GUILD))
    assert call.ephemeral and "out of range" in call.text
    call = _answer(await harness.invoke("cost", period="2099-01-01..2099-01-31"))
    assert call.ephemeral and "future" in call.text
    call = _answer(await harness.invoke("cost", group_by="colour"))
    assert "must be one of" in call.text


async def test_cooldown_per_user(settings: BotConfig, sessions: SessionFactory) -> None:
    async with logged_in(with_discord(settings, cooldown_s=60), sessions) as h:
        assert "costbot commands" in _answer(await h.invoke("help", user_id=1)).text
        slowed = _answer(await h.invoke("help", user_id=1))
        assert slowed.ephemeral and "Slow down" in slowed.text
        assert "costbot commands" in _answer(await h.invoke("help", user_id=2)).text


async def test_service_down_gives_a_clear_private_message(
    settings: BotConfig, sessions: SessionFactory, unused_url: str
) -> None:
    down = replace(settings, service=ServiceEndpoint(url=unused_url))
    async with logged_in(with_discord(down), sessions) as h:
        call = _answer(await h.invoke("classify", text="my card has not arrived"))
        assert call.ephemeral and "not answering" in call.text and "Try again" in call.text
        assert "Traceback" not in call.text


async def test_support_message_answered_from_template_and_recorded(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_text = "my card has not arrived"
    [reply] = await harness.message(secret_text)
    assert reply.path == "/channels/{channel_id}/messages"
    assert reply.body["content"] == load_templates().intents["card_arrival"]
    assert reply.body["message_reference"]["channel_id"] == CHANNEL_ID
    [outcome] = harness.records
    assert (outcome.outcome, outcome.intent, outcome.channel_id) == (
        "resolved",
        "card_arrival",
        CHANNEL_ID,
    )
    assert outcome.user_hash and "2001" not in outcome.user_hash
    assert secret_text not in caplog.text


async def test_negative_message_escalates(harness: Harness) -> None:
    [reply] = await harness.message("this is terrible, worst bank ever")
    assert "a person from the team will take this" in reply.body["content"].lower()
    assert harness.records[0].outcome == "escalated"


async def test_messages_elsewhere_or_from_bots_are_ignored(harness: Harness) -> None:
    assert await harness.message("my card has not arrived", channel_id=CHANNEL_ID + 1) == []
    assert await harness.message("my card has not arrived", author_bot=True) == []
    await asyncio.sleep(0)
    assert harness.records == []


async def test_unexpected_error_is_logged_and_answered_without_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    harness.bot.respond = broken  # type: ignore[method-assign]
    call = _answer(await harness.invoke("health"))
    assert call.ephemeral and "Something went wrong on our side" in call.text
    assert "boom" not in call.text and "RuntimeError: boom" in caplog.text


def _buttons(call: Any) -> dict[str, str]:
    """Label -> custom id of the buttons under a sent message."""
    return {
        b["label"]: b["custom_id"] for row in call.body["components"] for b in row["components"]
    }


async def test_answer_carries_feedback_buttons_only_the_customer_may_press(
    harness: Harness,
) -> None:
    [reply] = await harness.message("my card has not arrived", user_id=2001)
    assert reply.body["allowed_mentions"]["parse"] == []
    buttons = _buttons(reply)
    assert set(buttons) == {"Solved", "Talk to a person"}
    assert all(c.endswith(":2001") and c.startswith("costbot:") for c in buttons.values())

    [refused] = await harness.press(reply, buttons["Solved"], user_id=3003)
    assert refused.ephemeral and "only the customer who asked" in refused.text.lower()
    store = harness.bot.conversations
    assert store.open_for(_key(harness)) is not None  # nothing recorded for someone else

    [thanks] = await harness.press(reply, buttons["Solved"], user_id=2001)
    assert thanks.ephemeral and "solved" in thanks.text.lower()
    assert store.open_for(_key(harness)) is None  # closed by the customer


async def test_talk_to_a_person_button_hands_off_and_pauses_the_bot(harness: Harness) -> None:
    [reply] = await harness.message("my card has not arrived", user_id=2001)
    [wrong] = await harness.press(reply, _buttons(reply)["Talk to a person"], user_id=3003)
    assert wrong.ephemeral
    [handed] = await harness.press(reply, _buttons(reply)["Talk to a person"], user_id=2001)
    assert handed.text == load_templates().escalation
    found = harness.bot.conversations.open_for(_key(harness))
    assert found is not None and found.paused
    for _ in range(100):  # the handoff (a thread with the note) is posted after the answer
        found = harness.bot.conversations.open_for(_key(harness))
        if found is not None and found.thread_id is not None:
            break
        await asyncio.sleep(0.05)
    assert await harness.message("my card has still not arrived", user_id=2001) == []


def _key(harness: Harness, user_id: int = 2001) -> CustomerKey:
    salt = harness.bot.settings.discord.salt()
    return CustomerKey("discord", CHANNEL_ID, hash_user(str(user_id), salt), GUILD_ID)


AGENT_ROLE = 500_000_000_000_000_001


async def test_messages_from_agents_are_never_classified_or_answered(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    configured = with_discord(settings, agent_role_id=AGENT_ROLE)
    async with logged_in(configured, sessions) as harness:
        harness.add_guild(role_ids=(AGENT_ROLE,))
        agent = await harness.message(
            "my card has not arrived", user_id=4004, role_ids=(AGENT_ROLE,)
        )
        assert agent == []
        await asyncio.sleep(0.05)
        assert harness.records == []
        [answer] = await harness.message("my card has not arrived", user_id=2001)
        assert answer.body["content"] == load_templates().intents["card_arrival"]
        assert len(harness.records) == 1
