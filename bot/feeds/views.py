"""The feeds feature's buttons: reviewing held entries, one at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.core.checks import require_bot_owner
from bot.core.errors import NO_MENTIONS
from bot.core.ui import OwnedView
from bot.feeds.models import HeldEntry
from bot.feeds.render import held_embed, review_empty_text, review_outcome_text

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.feeds.review import FeedReview
    from bot.store import Store

NOT_AN_OWNER = ("Only the bot's owners can manage feeds: what they bring in goes to every "
                "subscribed server.")


async def require_owner(bot: commands.Bot, interaction: discord.Interaction) -> None:
    await require_bot_owner(bot, interaction, NOT_AN_OWNER)


class ReviewView(OwnedView):
    """One held entry and what to do with it; each press shows the next one."""

    def __init__(self, bot: commands.Bot, store: Store, review: FeedReview, entry: HeldEntry,
                 owner_id: int) -> None:
        super().__init__(owner_id)
        self.bot = bot
        self.store = store
        self.review = review
        self.entry = entry

    async def _decide(self, interaction: discord.Interaction, action: str) -> None:
        await require_owner(self.bot, interaction)
        review, user = self.review, interaction.user.id
        self.stop()
        if action == "skip":
            text = None
        else:
            outcome = await (review.approve(self.entry.id, by=user) if action == "post"
                             else review.drop(self.entry.id, by=user))
            text = (review_outcome_text(outcome) if outcome is not None
                    else "That entry is gone: its feed was removed.")
        following = await review.next_pending(after_id=self.entry.id)
        if following is not None and following.id == self.entry.id:
            following = None  # skipping the only entry left: nothing else to show
        if following is None:
            done = review_empty_text() if action != "skip" else "No other entry is waiting."
            await interaction.response.edit_message(
                content=f"{text}\n{done}" if text else done, embed=None, view=None,
                allowed_mentions=NO_MENTIONS)
            return
        pending = await self.store.feeds.pending_count()
        await interaction.response.edit_message(
            content=text, embed=held_embed(following, pending=pending),
            view=ReviewView(self.bot, self.store, self.review, following, self.owner_id),
            allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Post it", style=discord.ButtonStyle.success)
    async def post(self, interaction: discord.Interaction,
                   button: discord.ui.Button[ReviewView]) -> None:
        await self._decide(interaction, "post")

    @discord.ui.button(label="Drop", style=discord.ButtonStyle.danger)
    async def drop(self, interaction: discord.Interaction,
                   button: discord.ui.Button[ReviewView]) -> None:
        await self._decide(interaction, "drop")

    @discord.ui.button(label="Skip", style=discord.ButtonStyle.secondary)
    async def skip(self, interaction: discord.Interaction,
                   button: discord.ui.Button[ReviewView]) -> None:
        await self._decide(interaction, "skip")
