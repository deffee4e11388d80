"""Discord's limits enforced in our code: long text split, fields spilled, values clipped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app.render import as_messages
from bot.limits import (
    EMBED_DESCRIPTION,
    EMBED_FIELDS,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELD_VALUE,
    MESSAGE_CHARS,
    split_text,
)
from bot.replies import Reply, ReplyField, ReplyFile

texts = st.text(alphabet=st.sampled_from("ab \n"), max_size=9000)
fields = st.lists(
    st.builds(ReplyField, name=st.text(max_size=300), value=st.text(max_size=1500)), max_size=60
)


@given(texts)
def test_split_text_keeps_everything_within_the_limit(text: str) -> None:
    chunks = split_text(text)
    assert all(len(c) <= MESSAGE_CHARS for c in chunks)
    assert "".join(c.replace("\n", "").replace(" ", "") for c in chunks) == text.replace(
        "\n", ""
    ).replace(" ", "")


@given(title=st.text(max_size=400), text=texts, fields=fields)
def test_every_message_respects_embed_limits(
    title: str, text: str, fields: list[ReplyField]
) -> None:
    reply = Reply(title=title or "t", text=text, fields=tuple(fields))
    messages = as_messages(reply)
    shown = 0
    for message in messages:
        embeds = [e.to_dict() for e in message["embeds"]]
        assert len(embeds) <= 10
        total = 0
        for embed in embeds:
            assert len(embed.get("title", "")) <= EMBED_TITLE
            assert len(embed.get("description", "")) <= EMBED_DESCRIPTION
            assert len(embed.get("fields", [])) <= EMBED_FIELDS
            assert all(len(f["value"]) <= FIELD_VALUE for f in embed.get("fields", []))
            total += (
                len(embed.get("title", ""))
                + len(embed.get("description", ""))
                + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
            )
            shown += len(embed.get("fields", []))
        assert total <= EMBED_TOTAL
    assert shown == len(fields)


def test_plain_text_is_split_and_the_file_goes_with_the_first_message() -> None:
    reply = Reply(text="word " * 1000, file=ReplyFile("c.png", b"\x89PNG"))
    messages = as_messages(reply)
    assert len(messages) == 3 and all(len(m["content"]) <= MESSAGE_CHARS for m in messages)
    assert messages[0]["file"].filename == "c.png" and "file" not in messages[1]
