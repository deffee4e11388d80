"""The handoff note: what the person who takes over a conversation is shown.

A plain function of the conversation so far (`ConversationStore.history`), shared by Discord
(posted in a thread or the escalation channel) and the console (printed). The customers' words
appear only where storing text is on; otherwise each message shows its intent, the classifier's
confidence, the bot's decision and, where there is one, a link to the message.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.conversations import ConversationEvent, History

QUOTE_CHARS = 300  # one message's text in the note; the link leads to the rest
LABELS = {
    "solved": "customer pressed Solved",
    "talk_to_person": "customer asked for a person",
    "escalated": "handed to a person",
    "agent_reply": "a person replied",
}
Link = Callable[[int], str]


def handoff_note(
    history: History, *, reason: str, with_text: bool, link: Link | None = None
) -> str:
    """The note, one line per event after a heading naming the reason (plain text; the caller
    splits it to the platform's message size). ``link`` turns a message id into a jump link."""
    opened = history.opened_at.strftime("%Y-%m-%d %H:%M UTC")
    head = f"A customer needs a person ({reason}). Conversation opened {opened}:"
    lines = [_line(event, with_text=with_text, link=link) for event in history.events]
    return "\n".join([head, *(f"- {line}" for line in lines if line)])


def _line(event: ConversationEvent, *, with_text: bool, link: Link | None) -> str:
    when = event.at.strftime("%H:%M")
    if event.kind != "message":
        label = LABELS.get(event.kind)
        return f"{when} {label}" + (f" ({event.detail})" if event.detail else "") if label else ""
    facts = event.facts
    who = f"{when} customer"
    if with_text and facts.text:
        who += f': "{_quote(facts.text)}"'
    parts = [who]
    if facts.intent:
        score = "" if facts.confidence is None else f" {facts.confidence:.0%}"
        parts.append(f"intent {facts.intent}{score}")
    parts.append(event.detail)
    if link is not None and facts.message_id is not None:
        parts.append(link(facts.message_id))
    return " · ".join(parts)


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"
