"""Support conversations: one customer's messages in one support channel until it is closed
(the customer says it is solved, a person closes it, or it sits idle past the timeout).

The bot keeps the facts here (answers, escalation, feedback, who closed it); what they add up
to (contained, confirmed, reopened, escalated) is worked out in `costing.outcomes` when read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session, col, select

from storage.db import SessionFactory, session_scope
from storage.tables import SupportConversation, SupportEvent

Feedback = Literal["solved", "talk_to_person"]
OPEN, HANDOFF, CLOSED = "open", "handoff", "closed"


@dataclass(frozen=True)
class CustomerKey:
    """Whose conversation: the source, the channel and the salted hash of the customer."""

    source_kind: str
    channel_id: int | None
    user_hash: str | None
    guild_id: int | None = None


@dataclass(frozen=True)
class ConversationView:
    """A conversation's state as the bot needs it to answer (or to stay quiet)."""

    uid: str
    state: str
    messages: int
    answers: int
    thread_id: int | None = None

    @property
    def paused(self) -> bool:
        """True while a person has the conversation: the bot does not answer it."""
        return self.state == HANDOFF


@dataclass(frozen=True)
class MessageFacts:
    """What the handoff shows of one customer message: its platform id (for a link), the
    intent and its confidence (0..1), and its text only where storing text is on."""

    message_id: int | None = None
    intent: str = ""
    confidence: float | None = None
    text: str | None = None


@dataclass(frozen=True)
class ConversationEvent:
    """One entry of the conversation so far (``kind``: message, escalated, solved,
    talk_to_person, agent_reply, closed); ``detail`` is the decision or reason."""

    at: datetime
    kind: str
    actor: str
    detail: str = ""
    facts: MessageFacts = MessageFacts()


@dataclass(frozen=True)
class History:
    """A conversation so far: where it is and its events, oldest first."""

    uid: str
    guild_id: int | None
    channel_id: int | None
    opened_at: datetime
    events: tuple[ConversationEvent, ...]


class ConversationError(LookupError):
    """No such conversation (e.g. a button pressed on a conversation that no longer exists)."""


def _view(row: SupportConversation) -> ConversationView:
    return ConversationView(row.uid, row.state, row.messages, row.answers, row.thread_id)


@dataclass(frozen=True)
class ConversationStore:
    """Conversations in the database; every change also writes a `SupportEvent`."""

    session_factory: SessionFactory
    idle_timeout: timedelta = timedelta(minutes=30)
    # A conversation waiting for a person may sit longer before it is closed as idle.
    handoff_idle_timeout: timedelta = timedelta(hours=24)

    def current(self, key: CustomerKey, *, now: datetime) -> ConversationView:
        """The customer's open conversation, or a new one (an idle one is closed first)."""
        with session_scope(self.session_factory) as session:
            row = self._latest_open(session, key)
            if row is not None and now - row.last_message_at > self._timeout(row):
                self._close_idle(session, row)
                row = None
            if row is None:
                row = SupportConversation(
                    opened_at=now,
                    last_message_at=now,
                    source_kind=key.source_kind,
                    guild_id=key.guild_id,
                    channel_id=key.channel_id,
                    user_hash=key.user_hash,
                )
                session.add(row)
            session.commit()
            return _view(row)

    def open_for(self, key: CustomerKey) -> ConversationView | None:
        """The customer's conversation that is not closed yet, if any."""
        with session_scope(self.session_factory) as session:
            row = self._latest_open(session, key)
            return None if row is None else _view(row)

    def record_message(
        self,
        uid: str,
        *,
        now: datetime,
        outcome: str,
        reason: str,
        request_id: str = "",
        facts: MessageFacts | None = None,
    ) -> ConversationView:
        """Count a customer message and what the bot did with it (a ``message`` event with its
        facts); escalation pauses the bot."""
        with session_scope(self.session_factory) as session:
            row = self._get(session, uid)
            session.add(_message_event(uid, now, outcome, reason, request_id, facts))
            row.messages += 1
            row.last_message_at = max(row.last_message_at, now)
            if outcome == "resolved":
                row.answers += 1
            elif outcome == "fallback":
                row.fallbacks += 1
            elif outcome == "escalated" and row.state == OPEN:
                self._hand_off(session, row, reason=reason, now=now, request_id=request_id)
            session.commit()
            return _view(row)

    def feedback(
        self, uid: str, kind: Feedback, *, now: datetime, request_id: str = ""
    ) -> ConversationView:
        """The customer pressed "Solved" (closes it) or "Talk to a person" (hands it off)."""
        with session_scope(self.session_factory) as session:
            row = self._get(session, uid)
            session.add(
                SupportEvent(
                    created_at=now,
                    conversation_uid=uid,
                    request_id=request_id,
                    kind=kind,
                    actor="customer",
                )
            )
            if kind == "solved" and row.state != CLOSED:
                row.solved = True
                self._close(session, row, by="customer", at=now)
            elif kind == "talk_to_person" and row.state == OPEN:
                if row.answers + row.fallbacks > 0:
                    row.person_requested_after_answer = True
                self._hand_off(
                    session, row, reason="asked for a person", now=now, request_id=request_id
                )
            session.commit()
            return _view(row)

    def agent_message(self, key: CustomerKey, *, now: datetime) -> ConversationView | None:
        """A person replied in the channel: the customer's open conversation is theirs now."""
        with session_scope(self.session_factory) as session:
            row = self._latest_open(session, key)
            if row is None:
                return None
            self._agent_replied(session, row, now=now)
            session.commit()
            return _view(row)

    def agent_reply(self, uid: str, *, now: datetime) -> ConversationView:
        """A person replied in the handoff thread: recorded, and it counts as activity (the
        idle timeout starts again); the bot stays quiet until the conversation is closed."""
        with session_scope(self.session_factory) as session:
            row = self._get(session, uid)
            if row.state != CLOSED:
                self._agent_replied(session, row, now=now)
            session.commit()
            return _view(row)

    def view(self, uid: str) -> ConversationView:
        """One conversation's state; ConversationError when there is none."""
        with session_scope(self.session_factory) as session:
            return _view(self._get(session, uid))

    def by_thread(self, thread_id: int) -> ConversationView | None:
        """The conversation handed off to this thread (or escalation post), if any."""
        table = SupportConversation
        query = select(table).where(col(table.thread_id) == thread_id).order_by(col(table.id))
        with session_scope(self.session_factory) as session:
            row = session.exec(query).first()
            return None if row is None else _view(row)

    def history(self, uid: str) -> History:
        """The conversation so far, for the person who takes over: every event, oldest first."""
        events = select(SupportEvent).where(col(SupportEvent.conversation_uid) == uid)
        with session_scope(self.session_factory) as session:
            row = self._get(session, uid)
            found = session.exec(events.order_by(col(SupportEvent.id))).all()
            return History(
                uid=uid,
                guild_id=row.guild_id,
                channel_id=row.channel_id,
                opened_at=row.opened_at,
                events=tuple(_event(e) for e in found),
            )

    def close(self, uid: str, *, now: datetime, by: str = "agent") -> ConversationView:
        """A person (or the customer) closes the conversation; the bot answers again after."""
        with session_scope(self.session_factory) as session:
            row = self._get(session, uid)
            if row.state != CLOSED:
                self._close(session, row, by=by, at=now)
            session.commit()
            return _view(row)

    def set_thread(self, uid: str, thread_id: int) -> None:
        """Remember where the handoff was posted (a thread or the escalation channel)."""
        with session_scope(self.session_factory) as session:
            self._get(session, uid).thread_id = thread_id
            session.commit()

    def close_idle(self, *, now: datetime) -> int:
        """Close every conversation idle past its timeout (one waiting for a person after the
        longer handoff timeout), as of when it went idle; how many were closed."""
        limit = now - min(self.idle_timeout, self.handoff_idle_timeout)
        query = select(SupportConversation).where(
            col(SupportConversation.state) != CLOSED,
            col(SupportConversation.last_message_at) < limit,
        )
        with session_scope(self.session_factory) as session:
            rows = [
                r for r in session.exec(query).all() if now - r.last_message_at > self._timeout(r)
            ]
            for row in rows:
                self._close_idle(session, row)
            session.commit()
            return len(rows)

    def _timeout(self, row: SupportConversation) -> timedelta:
        return self.handoff_idle_timeout if row.state == HANDOFF else self.idle_timeout

    def _close_idle(self, session: Session, row: SupportConversation) -> None:
        timeout = self._timeout(row)
        self._close(session, row, by="timeout", at=row.last_message_at + timeout, detail="idle")

    def _agent_replied(self, session: Session, row: SupportConversation, *, now: datetime) -> None:
        session.add(
            SupportEvent(
                created_at=now, conversation_uid=row.uid, kind="agent_reply", actor="agent"
            )
        )
        row.last_message_at = max(row.last_message_at, now)
        if row.state == OPEN:
            self._hand_off(session, row, reason="a person answered", now=now)

    def _get(self, session: Session, uid: str) -> SupportConversation:
        query = select(SupportConversation).where(col(SupportConversation.uid) == uid)
        row = session.exec(query).first()
        if row is None:
            raise ConversationError(f"no support conversation {uid!r}")
        return row

    def _latest_open(self, session: Session, key: CustomerKey) -> SupportConversation | None:
        table = SupportConversation
        channel = col(table.channel_id)
        user = col(table.user_hash)
        query = (
            select(table)
            .where(
                col(table.source_kind) == key.source_kind,
                channel.is_(None) if key.channel_id is None else channel == key.channel_id,
                user.is_(None) if key.user_hash is None else user == key.user_hash,
                col(table.state) != CLOSED,
            )
            .order_by(col(table.id).desc())
        )
        return session.exec(query).first()

    def _hand_off(
        self,
        session: Session,
        row: SupportConversation,
        *,
        reason: str,
        now: datetime,
        request_id: str = "",
    ) -> None:
        row.state = HANDOFF
        row.escalation_reason = row.escalation_reason or reason[:200]
        session.add(
            SupportEvent(
                created_at=now,
                conversation_uid=row.uid,
                request_id=request_id,
                kind="escalated",
                actor="bot",
                detail=reason[:200],
            )
        )

    def _close(
        self, session: Session, row: SupportConversation, *, by: str, at: datetime, detail: str = ""
    ) -> None:
        row.state, row.closed_by, row.closed_at = CLOSED, by, at
        session.add(
            SupportEvent(
                created_at=at, conversation_uid=row.uid, kind="closed", actor=by, detail=detail
            )
        )


def _message_event(
    uid: str,
    now: datetime,
    outcome: str,
    reason: str,
    request_id: str,
    facts: MessageFacts | None,
) -> SupportEvent:
    facts = facts or MessageFacts()
    return SupportEvent(
        created_at=now,
        conversation_uid=uid,
        request_id=request_id[:32],
        kind="message",
        actor="customer",
        detail=f"{outcome}: {reason}"[:200] if reason else outcome,
        message_id=facts.message_id,
        intent=facts.intent[:100],
        confidence=facts.confidence,
        text=None if facts.text is None else facts.text[:4000],
    )


def _event(row: SupportEvent) -> ConversationEvent:
    facts = MessageFacts(row.message_id, row.intent, row.confidence, row.text)
    return ConversationEvent(row.created_at, row.kind, row.actor, row.detail, facts)


def close_idle_conversations(
    session_factory: SessionFactory,
    now: datetime,
    *,
    idle_timeout: timedelta,
    handoff_idle_timeout: timedelta,
) -> int:
    """The scheduled job: close every conversation idle past its timeout (reason "idle", as
    of when it went idle, so a closed period does not move); returns how many it closed."""
    store = ConversationStore(
        session_factory, idle_timeout=idle_timeout, handoff_idle_timeout=handoff_idle_timeout
    )
    return store.close_idle(now=now)
