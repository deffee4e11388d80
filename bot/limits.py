"""Discord's message and embed limits, enforced in our code: split long text, spill fields."""

from __future__ import annotations

from dataclasses import dataclass

from bot.replies import Reply, ReplyField

MESSAGE_CHARS = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
EMBED_TOTAL = 6000


@dataclass(frozen=True)
class EmbedPart:
    """One embed that fits every limit."""

    title: str
    description: str
    fields: tuple[ReplyField, ...]

    @property
    def size(self) -> int:
        """Characters as Discord counts them towards the 6000 total."""
        return (
            len(self.title)
            + len(self.description)
            + sum(len(f.name) + len(f.value) for f in self.fields)
        )


def split_text(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """Split text into chunks of at most ``limit`` chars, at line or word breaks when possible."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _break_point(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def _break_point(text: str, limit: int) -> int:
    for separator in ("\n", " "):
        cut = text.rfind(separator, limit // 2, limit)
        if cut > 0:
            return cut + 1 if separator == " " else cut
    return limit


def clip(text: str, limit: int) -> str:
    """Text shortened to ``limit`` chars with an ellipsis when it was longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_embeds(reply: Reply) -> list[EmbedPart]:
    """The reply's title, text and fields as embeds that each respect every embed limit."""
    title = clip(reply.title, EMBED_TITLE)
    descriptions = split_text(reply.text, EMBED_DESCRIPTION) if reply.text else [""]
    parts = [EmbedPart(title if i == 0 else "", d, ()) for i, d in enumerate(descriptions)]
    fields = [_fit_field(f) for f in reply.fields]
    for field in fields:
        last = parts[-1]
        room = last.size + len(field.name) + len(field.value) <= EMBED_TOTAL
        if len(last.fields) < EMBED_FIELDS and room:
            parts[-1] = EmbedPart(last.title, last.description, (*last.fields, field))
        else:
            parts.append(EmbedPart("", "", (field,)))
    return parts


def _fit_field(field: ReplyField) -> ReplyField:
    return ReplyField(
        clip(field.name or "\u200b", FIELD_NAME),
        clip(field.value or "\u200b", FIELD_VALUE),
        field.inline,
    )


def embeds_total(parts: list[EmbedPart]) -> int:
    """Characters across embeds of one message (Discord caps this at 6000 too)."""
    return sum(part.size for part in parts)


def group_for_messages(parts: list[EmbedPart], *, per_message: int = 10) -> list[list[EmbedPart]]:
    """Group embeds into messages: at most 10 embeds and 6000 characters per message."""
    groups: list[list[EmbedPart]] = [[]]
    for part in parts:
        current = groups[-1]
        full = len(current) >= per_message or embeds_total(current) + part.size > EMBED_TOTAL
        if current and full:
            groups.append([])
        groups[-1].append(part)
    return groups
