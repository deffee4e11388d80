"""Support outcomes per conversation, measured from what happened rather than declared.

A conversation (bot/conversations.py keeps the facts) ends as one of:

* ``confirmed``: the customer said it was solved;
* ``contained``: closed without a person, the bot answered from an intent's template, and the
  customer did not come back within the re-contact window;
* ``reopened``: the customer asked for a person after a bot answer, or came back within the
  window (a re-contact): the bot's answer did not hold;
* ``escalated``: handed to a person (by the policy, by the customer before any answer, or a
  person stepped in);
* ``pending``: not settled yet (still open, or closed less than the window ago);
* ``unanswered``: closed without a person after only the fallback template (never a resolution).

A conversation belongs to the period it was opened in; once the period's conversations are
closed and the window has passed, its counts never change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import col, select

from costing.periods import Period
from storage.db import SessionFactory, session_scope
from storage.tables import SupportConversation

OutcomeName = Literal["contained", "confirmed", "reopened", "escalated", "pending", "unanswered"]
OUTCOME_NAMES: tuple[OutcomeName, ...] = (
    "contained",
    "confirmed",
    "reopened",
    "escalated",
    "pending",
    "unanswered",
)


@dataclass(frozen=True)
class ConversationFacts:
    """What is stored about one conversation (the columns outcomes are derived from)."""

    opened_at: datetime
    last_message_at: datetime
    closed_at: datetime | None
    answers: int
    fallbacks: int
    escalation_reason: str
    person_requested_after_answer: bool
    solved: bool
    closed_by: str

    @property
    def answered(self) -> bool:
        return self.answers + self.fallbacks > 0

    @property
    def ended_at(self) -> datetime:
        return self.closed_at or self.last_message_at


def outcome_of(
    facts: ConversationFacts, *, next_opened: datetime | None, now: datetime, window: timedelta
) -> OutcomeName:
    """One conversation's outcome as of ``now`` (``next_opened``: the same customer's next
    conversation in the same channel, if any)."""
    if facts.person_requested_after_answer:
        return "reopened"
    if facts.escalation_reason or facts.closed_by == "agent":
        return "escalated"
    if facts.answered and next_opened is not None and next_opened - facts.ended_at <= window:
        return "reopened"
    if facts.solved:
        return "confirmed"
    if facts.closed_at is None or facts.closed_at + window > now:
        return "pending"
    return "contained" if facts.answers > 0 else "unanswered"


@dataclass(frozen=True)
class ConversationOutcome:
    """A conversation's outcome, when it was opened, and why a person got it (if one did)."""

    opened_at: datetime
    outcome: OutcomeName
    reason: str
    answered_by_template: bool


@dataclass(frozen=True)
class OutcomeCounts:
    """Conversations opened in a period, by outcome, with escalation reasons and rates."""

    counts: dict[str, int]
    reasons: dict[str, int]

    @property
    def conversations(self) -> int:
        return sum(self.counts.values())

    @property
    def settled(self) -> int:
        return self.conversations - self.counts["pending"]

    def rate(self, *names: str) -> float | None:
        """Share of settled conversations with one of these outcomes (None: none settled)."""
        if self.settled == 0:
            return None
        return sum(self.counts[name] for name in names) / self.settled

    def to_json(self) -> dict[str, int]:
        return dict(self.counts)


def conversation_outcomes(
    session_factory: SessionFactory, *, period: Period, now: datetime, window: timedelta
) -> list[ConversationOutcome]:
    """Every conversation opened in the period, with its outcome as of ``now``."""
    table = SupportConversation
    opened = col(table.opened_at)
    query = (
        select(table)
        .where(opened >= period.start, opened < period.end + window)
        .order_by(opened, col(table.id))
    )
    with session_scope(session_factory) as session:
        rows = list(session.exec(query).all())
    following: dict[str, datetime | None] = {}
    by_customer: dict[tuple[object, ...], list[SupportConversation]] = defaultdict(list)
    for row in rows:
        by_customer[(row.source_kind, row.channel_id, row.user_hash)].append(row)
    for convs in by_customer.values():
        for before, after in zip(convs, [*convs[1:], None], strict=True):
            following[before.uid] = after.opened_at if after is not None else None
    return [
        _outcome(row, next_opened=following[row.uid], now=now, window=window)
        for row in rows
        if period.start <= row.opened_at < period.end
    ]


def _outcome(
    row: SupportConversation, *, next_opened: datetime | None, now: datetime, window: timedelta
) -> ConversationOutcome:
    facts = ConversationFacts(
        opened_at=row.opened_at,
        last_message_at=row.last_message_at,
        closed_at=row.closed_at,
        answers=row.answers,
        fallbacks=row.fallbacks,
        escalation_reason=row.escalation_reason,
        person_requested_after_answer=row.person_requested_after_answer,
        solved=row.solved,
        closed_by=row.closed_by,
    )
    name = outcome_of(facts, next_opened=next_opened, now=now, window=window)
    reason = row.escalation_reason or ("closed by a person" if name == "escalated" else "")
    return ConversationOutcome(row.opened_at, name, reason, row.answers > 0)


def count(outcomes: list[ConversationOutcome]) -> OutcomeCounts:
    """Counts per outcome (every name present) and per escalation reason."""
    counts: Counter[str] = Counter(dict.fromkeys(OUTCOME_NAMES, 0))
    counts.update(o.outcome for o in outcomes)
    reasons = Counter(o.reason for o in outcomes if o.outcome == "escalated" and o.reason)
    return OutcomeCounts(dict(counts), dict(reasons.most_common()))
