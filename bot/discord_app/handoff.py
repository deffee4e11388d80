"""The handoff in Discord: ping the agent role, post the conversation so far, let people close.

On an escalation (the policy's decision or the "Talk to a person" button) the bot opens a thread
on the customer's message, or posts to `discord.escalation_channel_id` when that is set or a
thread cannot be made, and starts that post with the one message that mentions the agent role
(`AllowedMentions` naming only that role; everything else the bot sends mentions nobody). The
bot stays quiet for that customer until a person closes the conversation (`/close` in the
thread) or it sits idle past `support.handoff_idle_timeout_min`; an agent's message in the
thread is recorded as "a person replied" and restarts the idle clock.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.conversations import CLOSED, ConversationError, History
from bot.discord_app.cogs._spec import description
from bot.handoff import handoff_note
from bot.limits import split_text
from bot.support import SupportReply

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

log = logging.getLogger(__name__)

THREAD_NAME_CHARS = 100
NOT_AN_AGENT = (
    "Only members with the agent role (or Manage Server) can close support conversations."
)
NO_CONVERSATION = (
    "There is no open support conversation here. Use `/close` in the handoff thread of the "
    "conversation you want to close."
)
CLOSED_TEXT = "Closed by a person; the bot answers this customer again."


def is_agent(author: discord.abc.User, role_id: int | None) -> bool:
    """Whether the author is a member with the agent role."""
    return (
        role_id is not None
        and isinstance(author, discord.Member)
        and author.get_role(role_id) is not None
    )


async def after_reply(bot: CostBot, message: discord.Message, reply: SupportReply) -> None:
    """Hand off when this customer message is the one that escalated its conversation."""
    if reply.handoff and reply.outcome == "escalated" and reply.conversation_uid:
        await hand_off(
            bot,
            channel=message.channel,
            message_id=message.id,
            uid=reply.conversation_uid,
            reason=reply.reason,
        )


async def after_person_button(bot: CostBot, interaction: discord.Interaction, uid: str) -> None:
    """Hand off after "Talk to a person", unless this conversation was handed off already."""
    try:
        found = await asyncio.to_thread(bot.conversations.view, uid)  # SQL: off the loop
    except ConversationError:
        return
    if not found.paused or found.thread_id is not None or interaction.message is None:
        return
    reference = interaction.message.reference
    asked = reference.message_id if reference and reference.message_id else None
    await hand_off(
        bot,
        channel=interaction.channel,
        message_id=asked or interaction.message.id,
        uid=uid,
        reason="asked for a person",
    )


async def hand_off(
    bot: CostBot, *, channel: Any, message_id: int, uid: str, reason: str
) -> int | None:
    """Post the ping and the conversation so far (a thread on the customer's message, or the
    escalation channel); returns the thread's id (or None when only a channel post was made,
    or nothing could be posted: logged with what to fix, the customer already has an answer)."""
    history = await asyncio.to_thread(bot.conversations.history, uid)
    note = handoff_note(
        history, reason=reason, with_text=bot.settings.store_text, link=_linker(history)
    )
    try:
        thread = await _thread_or_post(bot, channel, message_id, note=note, reason=reason)
    except (discord.HTTPException, ValueError) as error:
        status = getattr(error, "status", "")
        log.warning(
            "handoff of %s not posted (%s %s): give the bot Create Public Threads in the support "
            "channel or set discord.escalation_channel_id",
            uid,
            type(error).__name__,
            status,
        )
        return None
    if thread is not None:
        await asyncio.to_thread(bot.conversations.set_thread, uid, thread)
    return thread


async def _thread_or_post(
    bot: CostBot, channel: Any, message_id: int, *, note: str, reason: str
) -> int | None:
    escalation_id = bot.settings.discord.escalation_channel_id
    name = f"Handoff: {reason}"[:THREAD_NAME_CHARS]
    if escalation_id is None:
        try:
            customer = channel.get_partial_message(message_id)
            thread = await customer.create_thread(name=name, auto_archive_duration=1440)
        except (discord.HTTPException, AttributeError, ValueError) as error:
            raise ValueError("no thread on the customer's message") from error
        await _post(bot, thread, note)
        return int(thread.id)
    target = bot.get_channel(escalation_id) or await bot.fetch_channel(escalation_id)
    if not isinstance(target, discord.abc.Messageable):
        raise ValueError(f"discord.escalation_channel_id {escalation_id} is not a text channel")
    first = await _post(bot, target, note)
    try:  # a thread on the post gives the person a place to reply and `/close`
        return int((await first.create_thread(name=name, auto_archive_duration=1440)).id)
    except (discord.HTTPException, ValueError):
        return None


async def _post(bot: CostBot, target: Any, note: str) -> discord.Message:
    """The note in as many messages as it takes; only the first mentions the agent role."""
    role_id = bot.settings.discord.agent_role_id
    ping = f"<@&{role_id}> " if role_id is not None else ""
    chunks = split_text(ping + note)
    first = await target.send(chunks[0], allowed_mentions=_role_only(role_id))
    for chunk in chunks[1:]:
        await target.send(chunk, allowed_mentions=discord.AllowedMentions.none())
    return first


def _role_only(role_id: int | None) -> discord.AllowedMentions:
    if role_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


def _linker(history: History) -> Any:
    if history.guild_id is None or history.channel_id is None:
        return None
    base = f"https://discord.com/channels/{history.guild_id}/{history.channel_id}"
    return lambda message_id: f"{base}/{message_id}"


class HandoffCog(commands.Cog):
    """People take over: an agent's message in a handoff thread, and `/close`."""

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot
        self.role_id = bot.settings.discord.agent_role_id

    @commands.Cog.listener("on_message")
    async def on_agent_message(self, message: discord.Message) -> None:
        """An agent wrote in a handoff thread: record that a person replied."""
        if message.author.bot or not is_agent(message.author, self.role_id):
            return
        store = self.bot.conversations
        found = await asyncio.to_thread(store.by_thread, message.channel.id)
        if found is not None and found.state != CLOSED:
            await asyncio.to_thread(store.agent_reply, found.uid, now=self.bot.deps.now())
            log.info("a person replied in handoff thread %s", message.channel.id)

    @app_commands.command(name="close", description=description("close"))
    async def close(self, interaction: discord.Interaction) -> None:
        """Close the conversation of this handoff thread (agents and Manage Server only)."""
        none = discord.AllowedMentions.none()
        if not self._may_close(interaction):
            await interaction.response.send_message(NOT_AN_AGENT, ephemeral=True)
            return
        store = self.bot.conversations
        found = await asyncio.to_thread(store.by_thread, interaction.channel_id or 0)
        if found is None or found.state == CLOSED:
            await interaction.response.send_message(NO_CONVERSATION, ephemeral=True)
            return
        await asyncio.to_thread(store.close, found.uid, now=self.bot.deps.now(), by="agent")
        log.info("support conversation closed by a person in %s", interaction.channel_id)
        await interaction.response.send_message(CLOSED_TEXT, allowed_mentions=none)

    def _may_close(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            return False
        return is_agent(interaction.user, self.role_id) or interaction.permissions.manage_guild


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    await bot.add_cog(HandoffCog(bot))
