"""Support-channel mode: classify a customer message, answer from a template or escalate.

The decision is a pure function (`decide`), shared by the console, Discord and the demo.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Literal

from bot.errors import ServiceRejectedError, ServiceUnavailableError
from bot.service_client import Classification, InferenceCost, ModelServiceClient, Requester
from storage.tables import SupportOutcome

log = logging.getLogger(__name__)

Outcome = Literal["resolved", "escalated"]
UNKNOWN = "unknown"
NEGATIVE = "negative"


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


@dataclass(frozen=True)
class SupportDecision:
    """What to answer and how to record it."""

    outcome: Outcome
    reason: str
    text: str


def decide(*, intent: str, sentiment: str, templates: ReplyTemplates) -> SupportDecision:
    """Escalate unknown intents and negative messages; otherwise answer with the template."""
    if intent == UNKNOWN:
        return SupportDecision("escalated", "intent unknown", templates.escalation)
    if sentiment == NEGATIVE:
        return SupportDecision("escalated", "negative sentiment", templates.escalation)
    if intent in templates.intents:
        return SupportDecision("resolved", "template", templates.intents[intent])
    return SupportDecision("resolved", "fallback template", templates.fallback)


@dataclass(frozen=True)
class SupportContext:
    """Where a support message came from and what handles it (all passed in)."""

    service: ModelServiceClient
    templates: ReplyTemplates
    record: Callable[[SupportOutcome], None]
    kind: Literal["console", "discord"] = "console"
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: str | None = None
    user_hash_salt: str = ""


@dataclass(frozen=True)
class SupportReply:
    """The answer to a customer message, with what was decided and what it cost."""

    text: str
    outcome: Outcome
    reason: str
    intent: str = UNKNOWN
    sentiment: str = ""
    confidence: float = 0.0
    cost: InferenceCost | None = None
    request_id: str = ""


async def handle_support_message(text: str, *, context: SupportContext) -> SupportReply:
    """Classify, decide, record the outcome; a down service escalates instead of failing."""
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
        reply = SupportReply(context.templates.escalation, "escalated", _failure_reason(error))
    else:
        reply = _from_classification(result, context.templates)
    context.record(_outcome_record(reply, context))
    return reply


def _failure_reason(error: Exception) -> str:
    if isinstance(error, ServiceUnavailableError):
        return "model service unavailable"
    return "message not classifiable"


def _from_classification(result: Classification, templates: ReplyTemplates) -> SupportReply:
    intent, sentiment = result.label("intent"), result.label("sentiment")
    decision = decide(intent=intent, sentiment=sentiment, templates=templates)
    confidence = result.predictions["intent"].score if "intent" in result.predictions else 0.0
    return SupportReply(
        decision.text,
        decision.outcome,
        decision.reason,
        intent=intent,
        sentiment=sentiment,
        confidence=confidence,
        cost=result.cost,
        request_id=result.request_id,
    )


def _outcome_record(reply: SupportReply, context: SupportContext) -> SupportOutcome:
    return SupportOutcome(
        request_id=reply.request_id[:32],
        source_kind=context.kind,
        guild_id=context.guild_id,
        channel_id=context.channel_id,
        user_hash=hash_user(context.user_id, context.user_hash_salt),
        intent=reply.intent[:100],
        sentiment=reply.sentiment[:32],
        outcome=reply.outcome,
        reason=reply.reason[:200],
    )


def hash_user(user_id: str | None, salt: str) -> str | None:
    """A salted hash of a user id: outcomes are countable per user, never attributable."""
    if user_id is None:
        return None
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()
