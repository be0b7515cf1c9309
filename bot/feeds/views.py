"""The feeds feature's buttons: reviewing held entries, one at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.core.checks import require_bot_owner
from bot.core.errors import NO_MENTIONS
from bot.core.review import ReviewLabels, ReviewView
from bot.feeds.models import HeldEntry
from bot.feeds.render import held_embed, review_empty_text, review_outcome_text

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.feeds.review import FeedReview
    from bot.store import Store

NOT_AN_OWNER = ("Only the bot's owners can manage feeds: what they bring in goes to every "
                "subscribed server.")


async def require_owner(bot: commands.Bot, interaction: discord.Interaction) -> None:
    await require_bot_owner(bot, interaction, NOT_AN_OWNER)


REVIEW_LABELS = ReviewLabels(approve="Post it", reject="Drop", noun="entry")


class FeedReviewFlow:
    """Held feed entries as a ReviewFlow (bot/core/review.py): any of the bot's owners may
    decide, each press shows the next entry."""

    def __init__(self, bot: commands.Bot, store: Store, review: FeedReview) -> None:
        self.bot = bot
        self.store = store
        self.review = review

    def card(self, entry: HeldEntry) -> ReviewView:
        return ReviewView(self, entry.id, labels=REVIEW_LABELS)

    async def check(self, interaction: discord.Interaction, item_id: int) -> None:
        await require_owner(self.bot, interaction)

    async def decide(self, interaction: discord.Interaction, item_id: int, approve: bool,
                     reason: str | None) -> None:
        by = interaction.user.id
        outcome = await (self.review.approve(item_id, by=by) if approve
                         else self.review.drop(item_id, by=by))
        text = (review_outcome_text(outcome) if outcome is not None
                else "That entry is gone: its feed was removed.")
        await self._show_next(interaction, text, after_id=item_id)

    async def skip(self, interaction: discord.Interaction, item_id: int) -> None:
        await self._show_next(interaction, None, after_id=item_id)

    async def _show_next(self, interaction: discord.Interaction, text: str | None, *,
                         after_id: int) -> None:
        following = await self.review.next_pending(after_id=after_id)
        if following is not None and following.id == after_id:
            following = None  # skipping the only entry left: nothing else to show
        if following is None:
            done = review_empty_text() if text else "No other entry is waiting."
            await interaction.response.edit_message(
                content=f"{text}\n{done}" if text else done, embed=None, view=None,
                allowed_mentions=NO_MENTIONS)
            return
        pending = await self.store.feeds.pending_count()
        await interaction.response.edit_message(
            content=text, embed=held_embed(following, pending=pending), view=self.card(following),
            allowed_mentions=NO_MENTIONS)
