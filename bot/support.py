"""Support-channel mode: classify a customer message, answer from a template or escalate.

The decision is a pure function (`decide`) of the classification and the escalation policy
(bot/policy.py), shared by the console, Discord and the demo; the conversation it belongs to
is kept in bot/conversations.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from bot.conversations import ConversationStore, CustomerKey, MessageFacts
from bot.errors import ServiceRejectedError, ServiceUnavailableError
from bot.policy import EscalationPolicy, MessageSignals, load_policy
from bot.service_client import Classification, InferenceCost, ModelServiceClient, Requester
from costing.identity import hash_customer
from storage.tables import SupportOutcome
from storage.types import utc_now

log = logging.getLogger(__name__)

Outcome = Literal["resolved", "fallback", "escalated", "paused"]
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReplyTemplates:
    """Reply texts per intent, a fallback for intents without one, and the escalation text."""

    intents: Mapping[str, str]
    fallback: str
    escalation: str


def load_templates() -> ReplyTemplates:
    """The templates shipped in bot/data/reply_templates.json."""
    raw = resources.files("bot").joinpath("data/reply_templates.json").read_text("utf-8")
    data = json.loads(raw)
    return ReplyTemplates(
        intents=MappingProxyType(dict(data["intents"])),
        fallback=data["fallback"],
        escalation=data["escalation"],
    )


def load_support_policy(path: Path | None = None) -> EscalationPolicy:
    """The escalation policy (the shipped one when no path), its intents checked against the
    77 intents the templates answer."""
    return load_policy(path, intents=frozenset(load_templates().intents))


@dataclass(frozen=True)
class SupportDecision:
    """What to answer and how to record it: ``resolved`` only for an intent's own template
    (the fallback template is never a resolution)."""

    outcome: Outcome
    reason: str
    text: str


def decide(
    signals: MessageSignals, *, templates: ReplyTemplates, policy: EscalationPolicy
) -> SupportDecision:
    """Escalate when the policy gives a reason; otherwise the intent's template or the fallback."""
    reason = policy.reason(signals)
    if reason is not None:
        return SupportDecision("escalated", reason, templates.escalation)
    if signals.intent in templates.intents:
        return SupportDecision("resolved", "template", templates.intents[signals.intent])
    return SupportDecision("fallback", "fallback template", templates.fallback)


@dataclass(frozen=True)
class SupportContext:
    """Where a support message came from and what handles it (all passed in)."""

    service: ModelServiceClient
    templates: ReplyTemplates
    record: Callable[[SupportOutcome], None]
    policy: EscalationPolicy = field(default_factory=EscalationPolicy)
    conversations: ConversationStore | None = None
    clock: Callable[[], datetime] = utc_now
    kind: Literal["console", "discord"] = "console"
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: str | None = None
    user_hash_salt: str = ""
    message_id: int | None = None  # the platform's id of the message (a link in the handoff)
    store_text: bool = False  # keep the message's words for the person who takes over

    def customer(self) -> CustomerKey:
        """The conversation key of this context's customer."""
        user_hash = hash_user(self.user_id, self.user_hash_salt)
        return CustomerKey(self.kind, self.channel_id, user_hash, self.guild_id)


@dataclass(frozen=True)
class SupportReply:
    """The answer to a customer message, with what was decided and what it cost.

    An empty ``text`` (outcome ``paused``) means a person has the conversation: say nothing."""

    text: str
    outcome: Outcome
    reason: str
    intent: str = UNKNOWN
    sentiment: str = ""
    confidence: float = 0.0
    cost: InferenceCost | None = None
    request_id: str = ""
    conversation_uid: str = ""
    handoff: bool = False


async def handle_support_message(text: str, *, context: SupportContext) -> SupportReply:
    """Classify, decide, record the outcome; a down service escalates instead of failing.

    While a person has the customer's conversation the bot neither classifies nor answers."""
    now, store = context.clock(), context.conversations
    if store is None:
        reply = await _answer(text, context)
    else:
        reply = await _in_conversation(text, context, store=store, now=now)
    if reply.outcome != "paused":
        context.record(_outcome_record(reply, context, now=now))
    return reply


async def _in_conversation(
    text: str, context: SupportContext, *, store: ConversationStore, now: datetime
) -> SupportReply:
    conversation = store.current(context.customer(), now=now)
    if conversation.paused:
        facts = _facts(text, context)
        store.record_message(conversation.uid, now=now, outcome="paused", reason="", facts=facts)
        return SupportReply(
            "", "paused", "a person has this conversation", conversation_uid=conversation.uid
        )
    reply = await _answer(text, context)
    after = store.record_message(
        conversation.uid,
        now=now,
        outcome=reply.outcome,
        reason=reply.reason,
        request_id=reply.request_id,
        facts=_facts(text, context, reply),
    )
    return replace(reply, conversation_uid=conversation.uid, handoff=after.paused)


def _facts(text: str, context: SupportContext, reply: SupportReply | None = None) -> MessageFacts:
    """What the handoff may show of the message (its words only where storing text is on)."""
    words = text if context.store_text else None
    if reply is None or not reply.request_id:  # not classified (paused, or the service down)
        return MessageFacts(message_id=context.message_id, text=words)
    return MessageFacts(context.message_id, reply.intent, reply.confidence, words)


async def _answer(text: str, context: SupportContext) -> SupportReply:
    source = Requester(
        kind=context.kind,
        command="support",
        guild_id=context.guild_id,
        channel_id=context.channel_id,
        user=context.user_id,
    )
    try:
        result = await context.service.classify(text, source=source)
    except (ServiceUnavailableError, ServiceRejectedError) as error:
        log.warning("support message escalated: %s", type(error).__name__)
        return SupportReply(context.templates.escalation, "escalated", _failure_reason(error))
    return _from_classification(result, text, context)


def _failure_reason(error: Exception) -> str:
    if isinstance(error, ServiceUnavailableError):
        return "model service unavailable"
    return "message not classifiable"


def signals_of(result: Classification, text: str = "") -> MessageSignals:
    """What the policy reads from a classification."""
    intent = result.predictions.get("intent")
    sentiment = result.predictions.get("sentiment")
    runner_up = intent.top[1][1] if intent is not None and len(intent.top) > 1 else 0.0
    return MessageSignals(
        intent=intent.label if intent else UNKNOWN,
        intent_score=intent.score if intent else 0.0,
        runner_up_score=runner_up,
        sentiment=sentiment.label if sentiment else "",
        sentiment_score=sentiment.score if sentiment else 0.0,
        text=text,
    )


def _from_classification(
    result: Classification, text: str, context: SupportContext
) -> SupportReply:
    signals = signals_of(result, text)
    decision = decide(signals, templates=context.templates, policy=context.policy)
    return SupportReply(
        decision.text,
        decision.outcome,
        decision.reason,
        intent=signals.intent,
        sentiment=signals.sentiment,
        confidence=signals.intent_score,
        cost=result.cost,
        request_id=result.request_id,
    )


def _outcome_record(
    reply: SupportReply, context: SupportContext, *, now: datetime
) -> SupportOutcome:
    return SupportOutcome(
        created_at=now,
        request_id=reply.request_id[:32],
        source_kind=context.kind,
        guild_id=context.guild_id,
        channel_id=context.channel_id,
        user_hash=hash_user(context.user_id, context.user_hash_salt),
        intent=reply.intent[:100],
        sentiment=reply.sentiment[:32],
        outcome=reply.outcome,
        reason=reply.reason[:200],
        conversation_uid=reply.conversation_uid,
    )


def hash_user(user_id: str | None, salt: str) -> str | None:
    """The stored form of a customer id: costing.identity's HMAC under the salt, the same hash
    the model service stores with the customer's inferences (so outcomes join them)."""
    return hash_customer(salt.encode(), user_id)
