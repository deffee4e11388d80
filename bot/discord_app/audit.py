"""The line an admin command leaves in the audit channel (`discord.audit_channel_id`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.errors import PostFailedError
from bot.replies import Reply

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

log = logging.getLogger(__name__)
MAX_RESULT_CHARS = 300


def audit_reply(interaction: discord.Interaction, *, command: str, result: str) -> Reply:
    """Who ran which admin command where, and what it answered (mentions render as names
    and never ping: the bot's default AllowedMentions is none)."""
    user = interaction.user
    where = f"<#{interaction.channel_id}>" if interaction.channel_id else "a server"
    text = result.replace("\n", " ")[:MAX_RESULT_CHARS]
    return Reply(text=f"{user.mention} (`{user.id}`) ran `/admin {command}` in {where}: {text}")


async def post_audit(
    bot: CostBot, interaction: discord.Interaction, *, command: str, reply: Reply
) -> None:
    """Post the audit line of a successful admin command; a failed post is a warning only
    (the change itself is done and recorded with its author)."""
    channel_id = bot.settings.discord.audit_channel_id
    if channel_id is None or reply.is_error:
        return
    try:
        await bot.post(channel_id, audit_reply(interaction, command=command, result=reply.text))
    except PostFailedError as error:
        log.warning("audit line for /admin %s not posted: %s", command, error)
