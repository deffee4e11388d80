"""Support-channel mode: answer customer messages in the configured channels."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_app.buttons import FeedbackButton, feedback_view
from bot.discord_app.guards import support_cooldowns
from bot.discord_app.handoff import after_reply
from bot.discord_app.offloop import off_loop
from bot.service_client import ModelServiceClient
from bot.support import SupportContext, handle_support_message
from bot.text import has_visible_character

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

log = logging.getLogger(__name__)


class SupportCog(commands.Cog):
    """Classify each customer message; answer from a template or escalate to a person."""

    def __init__(self, bot: CostBot) -> None:
        self.bot = bot
        self.channel_ids = frozenset(bot.settings.discord.support_channel_ids)
        self.agent_role_id = bot.settings.discord.agent_role_id
        self.notices = support_cooldowns(1, bot.settings.discord.support_per_s)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer one customer message (the text itself is never logged)."""
        if message.author.bot or message.channel.id not in self.channel_ids:
            return
        if not has_visible_character(message.content):  # nothing to read: no reply, no cost
            return
        if self._is_agent(message.author):  # a person of the team: never classified or answered
            return
        if await self._over_rate(message):
            return
        reply = await off_loop(  # SQL for the conversation: never on the gateway's loop
            lambda service: handle_support_message(
                message.content, context=self._context(message, service)
            ),
            service=self.bot.service,
        )
        log.info("support message in %s: %s (%s)", message.channel.id, reply.outcome, reply.reason)
        if not reply.text:  # empty while a person has the conversation
            return
        if reply.conversation_uid and not reply.handoff:  # "Solved" / "Talk to a person"
            view = feedback_view(reply.conversation_uid, message.author.id)
            await message.reply(
                reply.text,
                view=view,
                mention_author=False,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        else:
            await message.reply(
                reply.text, mention_author=False, allowed_mentions=discord.AllowedMentions.none()
            )
        await after_reply(self.bot, message, reply)  # the escalating message: ping, thread

    def _is_agent(self, author: discord.User | discord.Member) -> bool:
        role_id = self.agent_role_id
        return (
            role_id is not None
            and isinstance(author, discord.Member)
            and author.get_role(role_id) is not None
        )

    async def _over_rate(self, message: discord.Message) -> bool:
        """Whether the author sent more than `discord.support_rate` messages in the window;
        such a message is not classified, answered or costed, and the author is told once
        per window when to write again."""
        bucket = self.bot.support_cooldowns.get_bucket(message)
        retry_after = bucket.update_rate_limit() if bucket is not None else None
        if not retry_after:
            return False
        log.info("support message in %s over the author's rate: not answered", message.channel.id)
        notice = self.notices.get_bucket(message)
        if notice is not None and not notice.update_rate_limit():
            await message.reply(
                f"You are writing faster than we can answer: wait {retry_after:.0f}s, then send "
                "your question again.",
                mention_author=False,
            )
        return True

    def _context(self, message: discord.Message, service: ModelServiceClient) -> SupportContext:
        return SupportContext(
            service=service,
            templates=self.bot.templates,
            record=self.bot.deps.record,
            policy=self.bot.policy,
            conversations=self.bot.conversations,
            clock=self.bot.deps.now,
            kind="discord",
            guild_id=message.guild.id if message.guild else None,
            channel_id=message.channel.id,
            user_id=str(message.author.id),
            user_hash_salt=self.bot.settings.discord.salt(),
            message_id=message.id,
            store_text=self.bot.settings.store_text,
        )


async def setup(bot: CostBot) -> None:
    """Add the cog."""
    bot.add_dynamic_items(FeedbackButton)  # presses are understood after a restart
    await bot.add_cog(SupportCog(bot))
