"""Turn a Reply into Discord messages that respect every message and embed limit."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import discord

from bot.limits import EmbedPart, fit_embeds, group_for_messages, split_text
from bot.replies import Reply

ERROR_COLOUR = discord.Colour.red()
COLOUR = discord.Colour.blurple()


def as_messages(reply: Reply) -> list[dict[str, Any]]:
    """Keyword arguments of each message to send, in order (the file goes with the first)."""
    if not reply.title and not reply.fields:
        messages: list[dict[str, Any]] = [{"content": c} for c in split_text(reply.text)]
    else:
        groups = group_for_messages(fit_embeds(reply))
        messages = [{"embeds": [_embed(part, reply) for part in g]} for g in groups]
    if reply.file is not None:
        file = reply.file
        messages[0]["file"] = discord.File(io.BytesIO(file.data), filename=file.filename)
        if "embeds" in messages[0]:
            messages[0]["embeds"][0].set_image(url=f"attachment://{file.filename}")
    return messages


def _embed(part: EmbedPart, reply: Reply) -> discord.Embed:
    embed = discord.Embed(
        title=part.title or None,
        description=part.description or None,
        colour=ERROR_COLOUR if reply.is_error else COLOUR,
    )
    for field in part.fields:
        embed.add_field(name=field.name, value=field.value, inline=field.inline)
    return embed


async def send_reply(interaction: discord.Interaction, reply: Reply) -> None:
    """Answer an interaction (first response or, once deferred, follow-ups). A private reply
    after a deferred "thinking…" removes that placeholder first: Discord would otherwise turn
    the first follow-up into it, public whatever its flags."""
    if reply.ephemeral and _deferred_placeholder(interaction):
        with contextlib.suppress(discord.HTTPException):  # already gone: still private
            await interaction.delete_original_response()
    for message in as_messages(reply):
        if interaction.response.is_done():
            await interaction.followup.send(ephemeral=reply.ephemeral, **message)
        else:
            await interaction.response.send_message(ephemeral=reply.ephemeral, **message)


def _deferred_placeholder(interaction: discord.Interaction) -> bool:
    """Whether the interaction's response so far is a deferred message with no content yet."""
    response_type = interaction.response.type
    return response_type is discord.InteractionResponseType.deferred_channel_message


async def send_to_channel(channel: discord.abc.Messageable, reply: Reply) -> discord.Message:
    """Post a reply in a channel (scheduled summaries); returns the first message."""
    messages = [await channel.send(**message) for message in as_messages(reply)]
    return messages[0]
