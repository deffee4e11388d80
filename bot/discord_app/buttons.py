"""The "Solved" / "Talk to a person" buttons under each support answer.

The buttons are a `DynamicItem`: the custom id carries the action, the conversation's uid and
the asking customer's id (``costbot:solved:<uid>:<user id>``), so a press is understood after a
restart without any state kept in memory. A press records the same feedback event as the
console's `/solved` and `/person` (`ConversationStore.feedback`)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.conversations import ConversationError, Feedback
from bot.discord_app.handoff import after_person_button

if TYPE_CHECKING:
    from bot.discord_app.app import CostBot

log = logging.getLogger(__name__)

ACTIONS: dict[str, tuple[str, Feedback, discord.ButtonStyle]] = {
    "solved": ("Solved", "solved", discord.ButtonStyle.success),
    "person": ("Talk to a person", "talk_to_person", discord.ButtonStyle.secondary),
}
NOT_YOURS = "Only the customer who asked can use these buttons."
GONE = "This conversation is over. Write again if you still need help."
SOLVED = "Glad it is solved. Thanks for letting us know."


def custom_id(action: str, uid: str, user_id: int) -> str:
    """The button's stable custom id (at most 100 characters for a 20-digit snowflake)."""
    return f"costbot:{action}:{uid}:{user_id}"


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"costbot:(?P<action>solved|person):(?P<uid>[0-9A-Za-z_-]{1,60}):(?P<user>[0-9]{1,20})",
):
    """One feedback button of one conversation; only the asking customer may press it."""

    def __init__(self, action: str, uid: str, user_id: int) -> None:
        label, _, style = ACTIONS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=custom_id(action, uid, user_id))
        )
        self.action, self.uid, self.user_id = action, uid, user_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        return cls(match["action"], match["uid"], int(match["user"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the customer's feedback; anyone else gets a private refusal."""
        none = discord.AllowedMentions.none()
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(NOT_YOURS, ephemeral=True)
            return
        bot: CostBot = interaction.client  # type: ignore[assignment]
        text = await asyncio.to_thread(_press, bot, self.action, self.uid)  # SQL: off the loop
        log.info("support button %s pressed in %s", self.action, interaction.channel_id)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=none)
        if self.action == "person":  # answered first: Discord wants that within 3 s
            await after_person_button(bot, interaction, self.uid)


def _press(bot: CostBot, action: str, uid: str) -> str:
    kind = ACTIONS[action][1]
    try:
        after = bot.conversations.feedback(uid, kind, now=bot.deps.now())
    except ConversationError:
        return GONE
    if kind == "solved":
        return SOLVED
    return bot.templates.escalation if after.paused else GONE


def feedback_view(uid: str, user_id: int) -> discord.ui.View:
    """The persistent view under an answer: "Solved" and "Talk to a person"."""
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(FeedbackButton(action, uid, user_id))
    return view
