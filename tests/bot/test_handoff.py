"""The handoff through discord.py's own objects: one role ping, a thread (or the escalation
channel) with the conversation so far, the bot quiet until a person closes, an agent's reply
recorded; the console's equivalent; the idle-close job and the outcome it leaves."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.conversations import ConversationStore, CustomerKey, close_idle_conversations
from bot.settings import BotConfig
from bot.support import hash_user, load_templates
from costing.outcomes import conversation_outcomes
from costing.periods import Period
from storage.db import SessionFactory
from tests.bot.discord_harness import CHANNEL_ID, GUILD_ID, Call, Harness
from tests.bot.discord_setup import logged_in, with_discord

AGENT_ROLE = 500_000_000_000_000_001
ESCALATION_CHANNEL = 700_000_000_000_000_009
CUSTOMER, AGENT, STRANGER = 2001, 4004, 3003
THREADS = "/channels/{channel_id}/messages/{message_id}/threads"
SEND = "/channels/{channel_id}/messages"
SECRET = "my card has not arrived"


def _settings(settings: BotConfig, *, store_text: bool = False, **discord: Any) -> BotConfig:
    configured = with_discord(settings, agent_role_id=AGENT_ROLE, **discord)
    return replace(configured, store_text=store_text)


@asynccontextmanager
async def _harness(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[Harness]:
    async with logged_in(settings, sessions) as harness:
        harness.add_guild(role_ids=(AGENT_ROLE,))
        yield harness


@pytest.fixture
async def harness(settings: BotConfig, sessions: SessionFactory) -> AsyncIterator[Harness]:
    """The bot with an agent role, threads on the customer's message (no escalation channel)."""
    async with _harness(_settings(settings), sessions) as h:
        yield h


async def _settled(harness: Harness, before: int) -> list[Call]:
    """Every REST call since ``before``, once none has come for a while (the handoff runs
    after the answer is sent)."""
    seen = -1
    for _ in range(100):
        await asyncio.sleep(0.05)
        if len(harness.http.calls) == seen and seen > before:
            break
        seen = len(harness.http.calls)
    return harness.http.calls[before:]


async def _escalate(harness: Harness, text: str = "I want to talk to a person") -> list[Call]:
    before = len(harness.http.calls)
    await harness.message(text, user_id=CUSTOMER)
    return await _settled(harness, before)


def _pings(calls: list[Call]) -> list[Call]:
    sent = [c for c in calls if c.method == "POST" and c.path == SEND]
    return [c for c in sent if (c.body.get("allowed_mentions") or {}).get("roles")]


def _key(harness: Harness, user_id: int = CUSTOMER) -> CustomerKey:
    salt = harness.bot.settings.discord.salt()
    return CustomerKey("discord", CHANNEL_ID, hash_user(str(user_id), salt), GUILD_ID)


def _thread_id(harness: Harness) -> int:
    found = harness.bot.conversations.open_for(_key(harness))
    assert found is not None and found.paused and found.thread_id is not None
    return found.thread_id


async def test_escalation_pings_only_the_role_in_a_thread_with_the_conversation(
    harness: Harness,
) -> None:
    [answer] = await harness.message(SECRET, user_id=CUSTOMER)
    calls = await _escalate(harness)
    reply, thread, *posts = calls
    assert reply.path == SEND and reply.body["content"] == load_templates().escalation
    assert thread.path == THREADS and thread.method == "POST"
    customer_message = int(thread.url.split("/")[4])  # /channels/{c}/messages/{m}/threads
    assert thread.url.startswith(f"/channels/{CHANNEL_ID}/messages/")
    assert reply.body["message_reference"]["message_id"] == customer_message
    thread_id = _thread_id(harness)
    assert posts and all(p.url == f"/channels/{thread_id}/messages" for p in posts)

    [ping] = _pings(harness.http.calls)
    assert ping is posts[0]
    assert ping.body["allowed_mentions"] == {"parse": [], "roles": [AGENT_ROLE]}
    assert ping.body["content"].startswith(f"<@&{AGENT_ROLE}> A customer needs a person")
    others = [c for c in harness.http.calls if c.method == "POST" and c.path == SEND]
    assert all(c.body["allowed_mentions"]["parse"] == [] for c in others)
    assert answer.body["allowed_mentions"] == {"parse": [], "replied_user": False}

    note = "\n".join(p.body["content"] for p in posts)
    link = f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{customer_message}"
    assert "(asked for a person)" in note and link in note
    assert "intent card_arrival" in note and "resolved: template" in note
    assert re.search(r"intent card_arrival \d+%", note)
    assert "escalated: asked for a person" in note
    assert SECRET not in note and "talk to a person" not in note.lower().replace(
        "asked for a person", ""
    )


async def test_customer_words_are_in_the_note_only_where_text_is_stored(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    async with _harness(_settings(settings, store_text=True), sessions) as harness:
        await harness.message(SECRET, user_id=CUSTOMER)
        _, _, *posts = await _escalate(harness)
        note = "\n".join(p.body["content"] for p in posts)
        assert f'customer: "{SECRET}"' in note
        assert 'customer: "I want to talk to a person"' in note


async def test_paused_until_an_agent_closes_and_an_agents_reply_is_recorded(
    harness: Harness,
) -> None:
    await _escalate(harness)
    thread_id = _thread_id(harness)
    assert await harness.message("hello? anyone?", user_id=CUSTOMER) == []

    said = await harness.message(
        "Hi, I am looking at it", channel_id=thread_id, user_id=AGENT, role_ids=(AGENT_ROLE,)
    )
    assert said == []  # an agent is never answered
    store = harness.bot.conversations
    found = store.open_for(_key(harness))
    assert found is not None
    kinds = [e.kind for e in store.history(found.uid).events]
    assert kinds[-1] == "agent_reply" and kinds.count("message") == 2

    [refused] = await harness.invoke("close", user_id=STRANGER, channel_id=thread_id)
    assert refused.ephemeral and "agent role" in refused.text
    [elsewhere] = await harness.invoke("close", user_id=AGENT, role_ids=(AGENT_ROLE,))
    assert elsewhere.ephemeral and "no open support conversation here" in elsewhere.text
    assert store.open_for(_key(harness)) is not None

    [closed] = await harness.invoke(
        "close", user_id=AGENT, role_ids=(AGENT_ROLE,), channel_id=thread_id
    )
    assert not closed.ephemeral and "Closed by a person" in closed.text
    assert closed.data["allowed_mentions"]["parse"] == []
    assert store.open_for(_key(harness)) is None
    [back] = await harness.message(SECRET, user_id=CUSTOMER)
    assert back.body["content"] == load_templates().intents["card_arrival"]


async def test_talk_to_a_person_button_opens_the_thread_on_the_customers_message(
    harness: Harness,
) -> None:
    [answer] = await harness.message(SECRET, user_id=CUSTOMER)
    buttons = {
        b["label"]: b["custom_id"] for row in answer.body["components"] for b in row["components"]
    }
    before = len(harness.http.calls)
    [private] = await harness.press(answer, buttons["Talk to a person"], user_id=CUSTOMER)
    assert private.ephemeral and private.text == load_templates().escalation
    thread, *posts = await _settled(harness, before)
    customer_message = answer.body["message_reference"]["message_id"]
    assert thread.url == f"/channels/{CHANNEL_ID}/messages/{customer_message}/threads"
    [ping] = _pings(posts)
    assert ping.body["allowed_mentions"] == {"parse": [], "roles": [AGENT_ROLE]}
    assert "customer asked for a person" in ping.body["content"]

    again = len(harness.http.calls)  # a second press hands nothing off twice
    await harness.press(answer, buttons["Talk to a person"], user_id=CUSTOMER)
    assert await _settled(harness, again) == []


async def test_escalation_channel_when_set(settings: BotConfig, sessions: SessionFactory) -> None:
    configured = _settings(settings, escalation_channel_id=ESCALATION_CHANNEL)
    async with _harness(configured, sessions) as harness:
        calls = await _escalate(harness)
        posts = [c for c in calls if c.url == f"/channels/{ESCALATION_CHANNEL}/messages"]
        [ping] = _pings(calls)
        assert posts and ping is posts[0]
        thread = next(c for c in calls if c.path == THREADS)  # on the post, for replies
        assert thread.url.startswith(f"/channels/{ESCALATION_CHANNEL}/messages/")
        assert _thread_id(harness) > 0


async def test_no_thread_permission_and_no_channel_is_one_warning(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    harness.http.refuse_threads = True
    calls = await _escalate(harness)
    assert [c.path for c in calls] == [SEND, THREADS]  # the customer still has an answer
    assert _pings(calls) == []
    [warning] = [r for r in caplog.records if "handoff" in r.getMessage()]
    assert "Create Public Threads" in warning.getMessage()
    assert "escalation_channel_id" in warning.getMessage()


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BOB = CustomerKey("discord", 7, "bob-hash", 1)
ALICE = CustomerKey("discord", 7, "alice-hash", 1)


def test_idle_job_closes_each_kind_after_its_timeout_and_outcomes_follow(
    sessions: SessionFactory,
) -> None:
    store = ConversationStore(sessions)
    answered = store.current(ALICE, now=T0)
    store.record_message(answered.uid, now=T0, outcome="resolved", reason="template")
    waiting = store.current(BOB, now=T0)
    store.record_message(waiting.uid, now=T0, outcome="escalated", reason="intent unknown")
    store.agent_reply(waiting.uid, now=T0 + timedelta(hours=1))
    timeouts = {"idle_timeout": timedelta(minutes=30), "handoff_idle_timeout": timedelta(hours=4)}

    assert close_idle_conversations(sessions, T0 + timedelta(minutes=29), **timeouts) == 0
    assert close_idle_conversations(sessions, T0 + timedelta(minutes=31), **timeouts) == 1
    assert store.open_for(ALICE) is None and store.open_for(BOB) is not None
    assert close_idle_conversations(sessions, T0 + timedelta(hours=5, minutes=1), **timeouts) == 1
    assert store.open_for(BOB) is None

    closes = {
        uid: [e for e in store.history(uid).events if e.kind == "closed"]
        for uid in (answered.uid, waiting.uid)
    }
    assert [(e.actor, e.detail, e.at) for e in closes[answered.uid]] == [
        ("timeout", "idle", T0 + timedelta(minutes=30))
    ]
    assert closes[waiting.uid][0].at == T0 + timedelta(hours=5)  # 4 h after the agent's reply
    day = Period(T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1))
    later = T0 + timedelta(days=3)
    outcomes = conversation_outcomes(sessions, period=day, now=later, window=timedelta(hours=24))
    assert sorted(o.outcome for o in outcomes) == ["contained", "escalated"]


async def test_console_prints_the_handoff_note_for_the_team(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    from bot.console import Console
    from bot.runtime import open_resources

    clock = iter(T0 + timedelta(minutes=m) for m in range(100))
    async with open_resources(replace(settings, store_text=False)) as res:
        support = res.support(user_id="c9", salt="s", clock=lambda: next(clock))
        console = Console(ctx=None, support=support)  # type: ignore[arg-type]
        await console.answer(SECRET)
        handed = await console.answer("/person")
        quiet = await console.answer("hello?")
        again = await console.answer("I want to talk to a person")
        closed = await console.answer("/close")
        back = await console.answer(SECRET)
        res.writer.flush()
    assert handed is not None and "team: A customer needs a person (asked for a person)" in handed
    assert "intent card_arrival" in handed and "customer asked for a person" in handed
    assert SECRET not in handed
    assert quiet == again == "bot: (quiet: a person has this conversation)"
    assert closed is not None and "closed the conversation" in closed
    assert back is not None and back.startswith("bot: Cards usually arrive")


def test_the_scheduler_runs_the_idle_close(sessions: SessionFactory) -> None:
    from bot.settings import SupportSettings
    from costbot.scheduler import IDLE_CLOSE_JOB, build_scheduler
    from costing.settings import CostingSettings

    store = ConversationStore(sessions)
    stale = store.current(ALICE, now=T0)
    now = T0 + timedelta(minutes=45)
    scheduler = build_scheduler(
        session_factory=sessions,
        costing=CostingSettings(),
        support=SupportSettings(idle_timeout_min=30),
        clock=lambda: now,
    )
    job = scheduler.get_job(IDLE_CLOSE_JOB)
    assert job is not None and job.trigger.interval == timedelta(seconds=60)
    job.func()
    assert store.open_for(ALICE) is None
    [closed] = [e for e in store.history(stale.uid).events if e.kind == "closed"]
    assert (closed.detail, closed.at) == ("idle", T0 + timedelta(minutes=30))
    without = build_scheduler(session_factory=sessions, costing=CostingSettings())
    assert without.get_job(IDLE_CLOSE_JOB) is None
