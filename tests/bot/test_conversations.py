"""Support conversations on both databases: grouping, idle timeout, feedback, handoff pauses
the bot; and the escalation policy file's bad inputs as one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.conversations import ConversationStore, CustomerKey
from bot.policy import PolicyError, load_policy
from bot.settings import BotConfig
from bot.support import handle_support_message, load_support_policy, load_templates
from storage.db import SessionFactory
from storage.tables import SupportConversation, SupportEvent, SupportOutcome

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = CustomerKey("discord", 7, "alice-hash", 1)
INTENTS = frozenset(load_templates().intents)


def _store(sessions: SessionFactory) -> ConversationStore:
    return ConversationStore(sessions, idle_timeout=timedelta(minutes=30))


def _rows(sessions: SessionFactory, table: type) -> list:
    with Session(bind=sessions().get_bind()) as session:
        return list(session.exec(select(table).order_by(col(table.id))).all())


def test_messages_group_until_idle_timeout(sessions: SessionFactory) -> None:
    store = _store(sessions)
    first = store.current(ALICE, now=T0)
    store.record_message(first.uid, now=T0, outcome="resolved", reason="template")
    again = store.current(ALICE, now=T0 + timedelta(minutes=20))
    other = store.current(CustomerKey("discord", 7, "bob-hash", 1), now=T0)
    later = store.current(ALICE, now=T0 + timedelta(minutes=51))
    assert again.uid == first.uid and other.uid != first.uid and later.uid != first.uid
    closed = next(r for r in _rows(sessions, SupportConversation) if r.uid == first.uid)
    assert (closed.state, closed.closed_by) == ("closed", "timeout")
    assert closed.closed_at == T0 + timedelta(minutes=30)


def test_feedback_solved_closes_and_person_request_pauses(sessions: SessionFactory) -> None:
    store = _store(sessions)
    one = store.current(ALICE, now=T0)
    store.record_message(one.uid, now=T0, outcome="resolved", reason="template")
    assert store.feedback(one.uid, "solved", now=T0, request_id="r1").state == "closed"
    two = store.current(ALICE, now=T0 + timedelta(minutes=1))
    store.record_message(two.uid, now=T0, outcome="resolved", reason="template")
    assert store.feedback(two.uid, "talk_to_person", now=T0).paused
    assert store.close(two.uid, now=T0 + timedelta(minutes=5)).state == "closed"
    rows = {r.uid: r for r in _rows(sessions, SupportConversation)}
    assert rows[one.uid].solved and rows[one.uid].closed_by == "customer"
    assert rows[two.uid].person_requested_after_answer and rows[two.uid].closed_by == "agent"
    kinds = [(e.kind, e.actor) for e in _rows(sessions, SupportEvent)]
    assert ("solved", "customer") in kinds and ("talk_to_person", "customer") in kinds
    assert ("escalated", "bot") in kinds and ("closed", "agent") in kinds


def test_close_idle_closes_paused_conversations_too(sessions: SessionFactory) -> None:
    store = _store(sessions)
    one = store.current(ALICE, now=T0)
    store.record_message(one.uid, now=T0, outcome="escalated", reason="intent unknown")
    assert store.close_idle(now=T0 + timedelta(minutes=10)) == 0
    assert store.close_idle(now=T0 + timedelta(hours=1)) == 0  # waiting for a person: longer
    assert store.current(ALICE, now=T0 + timedelta(hours=2)).uid == one.uid
    assert store.close_idle(now=T0 + timedelta(hours=25)) == 1
    assert store.open_for(ALICE) is None


async def test_escalation_pauses_the_bot_until_a_person_closes(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    from bot.runtime import open_resources

    clock = iter(T0 + timedelta(minutes=m) for m in range(100))
    async with open_resources(settings) as res:
        context = res.support(user_id="u1", salt="s", clock=lambda: next(clock))
        asked = await handle_support_message("I want to talk to a person", context=context)
        quiet = await handle_support_message("hello? my card has not arrived", context=context)
        assert context.conversations is not None
        context.conversations.close(asked.conversation_uid, now=T0 + timedelta(minutes=3))
        back = await handle_support_message("my card has not arrived", context=context)
        res.writer.flush()
    assert (asked.outcome, asked.reason, asked.handoff) == ("escalated", "asked for a person", True)
    assert (quiet.outcome, quiet.text) == ("paused", "")
    assert back.outcome != "paused" and back.conversation_uid != asked.conversation_uid
    outcomes = _rows(sessions, SupportOutcome)
    assert [o.conversation_uid for o in outcomes] == [asked.conversation_uid, back.conversation_uid]


def test_shipped_policy_is_valid() -> None:
    policy = load_support_policy()
    assert "lost_or_stolen_card" in policy.always_escalate and 0 < policy.negative_threshold < 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('always_escalate = ["lost_card"]', "unknown intent 'lost_card' in always_escalate"),
        ("negative_threshold = 1.5", "negative_threshold must be a number from 0 to 1, not 1.5"),
        ('ambiguity_margin = "high"', "ambiguity_margin must be a number from 0 to 1"),
        ("escalate_unknown = 1", "escalate_unknown must be true or false"),
        ("negative = 0.9", "unknown key 'negative'"),
        ("always_escalate = [", "is not valid TOML"),
    ],
)
def test_bad_policy_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, intents=INTENTS)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"escalation policy {path}: ")


def test_bad_policy_stops_the_settings(tmp_path: Path) -> None:
    from costbot.settings import SettingsError, load_settings

    path = tmp_path / "policy.toml"
    path.write_text('always_escalate = ["nope"]\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown intent 'nope'"):
        load_settings(support={"policy_path": path})


async def test_console_buttons_and_an_agents_close(
    settings: BotConfig, sessions: SessionFactory
) -> None:
    from bot.console import Console
    from bot.runtime import open_resources

    clock = iter(T0 + timedelta(minutes=m) for m in range(100))
    async with open_resources(settings) as res:
        support = res.support(user_id="c1", salt="s", clock=lambda: next(clock))
        console = Console(ctx=None, support=support)  # type: ignore[arg-type]
        nothing = await console.answer("/solved")
        await console.answer("my card has not arrived")
        solved = await console.answer("/solved")
        await console.answer("my card has not arrived")
        person = await console.answer("/person")
        quiet = await console.answer("hello?")
        closed = await console.answer("/close")
        res.writer.flush()
    assert nothing is not None and "no open conversation" in nothing
    assert solved is not None and "confirmed by the customer" in solved
    assert person is not None and "person from the team" in person
    assert quiet == "bot: (quiet: a person has this conversation)"
    assert closed is not None and "closed the conversation" in closed
    rows = _rows(sessions, SupportConversation)
    assert [(r.solved, r.closed_by) for r in rows] == [(True, "customer"), (False, "agent")]
    assert rows[1].person_requested_after_answer
