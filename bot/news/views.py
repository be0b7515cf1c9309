"""The news feature's buttons."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import discord

from bot.core.errors import NO_MENTIONS
from bot.core.ui import OwnedView
from bot.news.models import NewsSubscription

if TYPE_CHECKING:  # the engine imports the store, which imports every feature
    from bot.news.engine import NewsEngine


class PostLatestView(OwnedView):
    """The one-time offer after subscribing: post the newest item in the channel now."""

    def __init__(self, engine: NewsEngine, sub: NewsSubscription, item_id: int,
                 owner_id: int) -> None:
        super().__init__(owner_id)
        self.engine = engine
        self.sub = sub
        self.item_id = item_id
        self.interaction: discord.Interaction | None = None

    async def on_timeout(self) -> None:
        # An expired button would only answer "interaction failed": take it away instead.
        if self.interaction is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.interaction.edit_original_response(view=None)

    @discord.ui.button(label="Post the latest news there now", style=discord.ButtonStyle.primary)
    async def post_latest(self, interaction: discord.Interaction,
                          button: discord.ui.Button[PostLatestView]) -> None:
        queued = await self.engine.post_once(self.item_id, self.sub.id)
        button.disabled = True
        self.stop()
        text = (f"The latest news will appear in <#{self.sub.channel_id}> in a moment."
                if queued else f"The latest news was already sent to <#{self.sub.channel_id}>, "
                "or the channel is no longer subscribed.")
        await interaction.response.edit_message(content=text, view=self,
                                                allowed_mentions=NO_MENTIONS)
