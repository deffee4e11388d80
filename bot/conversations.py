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


class ConversationError(LookupError):
    """No such conversation (e.g. a button pressed on a conversation that no longer exists)."""


def _view(row: SupportConversation) -> ConversationView:
    return ConversationView(row.uid, row.state, row.messages, row.answers, row.thread_id)


@dataclass(frozen=True)
class ConversationStore:
    """Conversations in the database; every change also writes a `SupportEvent`."""

    session_factory: SessionFactory
    idle_timeout: timedelta = timedelta(minutes=30)

    def current(self, key: CustomerKey, *, now: datetime) -> ConversationView:
        """The customer's open conversation, or a new one (an idle one is closed first)."""
        with session_scope(self.session_factory) as session:
            row = self._latest_open(session, key)
            if row is not None and now - row.last_message_at > self.idle_timeout:
                self._close(session, row, by="timeout", at=row.last_message_at + self.idle_timeout)
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
        self, uid: str, *, now: datetime, outcome: str, reason: str, request_id: str = ""
    ) -> ConversationView:
        """Count a customer message and what the bot did with it; escalation pauses the bot."""
        with session_scope(self.session_factory) as session:
            row = self._get(session, uid)
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
            session.add(
                SupportEvent(
                    created_at=now, conversation_uid=row.uid, kind="agent_reply", actor="agent"
                )
            )
            if row.state == OPEN:
                self._hand_off(session, row, reason="a person answered", now=now)
            session.commit()
            return _view(row)

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
        """Close every conversation idle past the timeout (paused ones too); how many."""
        limit = now - self.idle_timeout
        query = select(SupportConversation).where(
            col(SupportConversation.state) != CLOSED,
            col(SupportConversation.last_message_at) < limit,
        )
        with session_scope(self.session_factory) as session:
            rows = session.exec(query).all()
            for row in rows:
                self._close(session, row, by="timeout", at=row.last_message_at + self.idle_timeout)
            session.commit()
            return len(rows)

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

    def _close(self, session: Session, row: SupportConversation, *, by: str, at: datetime) -> None:
        row.state, row.closed_by, row.closed_at = CLOSED, by, at
        session.add(SupportEvent(created_at=at, conversation_uid=row.uid, kind="closed", actor=by))
