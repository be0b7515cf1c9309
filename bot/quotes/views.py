"""The buttons and the form of /quote. Each hands the press to the cog, so the logic stays in
one place; failures go through bot/core/errors.py like any command's.

"Another" sits on public messages that live for ever, so it is a DynamicItem that needs no
memory. The search pager is on ephemeral replies, which Discord's client
drops anyway; plain views with a timeout are enough there."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import discord
from discord.ext import commands

from bot.core.errors import report_error
from bot.core.review import ReasonPrompt
from bot.core.ui import OwnedView, pressed_by_owner
from bot.quotes.submissions import MAX_REASON_LENGTH


@dataclass(frozen=True, slots=True)
class AnotherRequest:
    """Everything an "Another" press needs, kept in the button's custom_id."""

    owner_id: int
    shown_quote_id: int  # the quote on the card; with by_speaker, names the person filter
    by_speaker: bool
    character_id: int | None
    season: int | None

    @property
    def custom_id(self) -> str:  # at most ~60 characters of Discord's 100
        return (f"quote:another:{self.owner_id}:{self.shown_quote_id}:"
                f"{'p' if self.by_speaker else ''}:{self.character_id or ''}:{self.season or ''}")


@runtime_checkable
class QuoteActions(Protocol):
    """What the Quotes cog does for these buttons (bot/ imports nothing from cogs/)."""

    async def another(self, interaction: discord.Interaction, request: AnotherRequest) -> None:
        ...


class AnotherButton(discord.ui.DynamicItem[discord.ui.Button],
                    template=r"quote:another:(?P<owner>\d+):(?P<quote>\d+):(?P<person>p?)"
                             r":(?P<character>\d*):(?P<season>\d*)"):
    """Under a random quote: the next one of the same rotation. A DynamicItem, so it keeps
    working on old messages and after a restart; only whoever asked may press it."""

    def __init__(self, request: AnotherRequest) -> None:
        super().__init__(discord.ui.Button(label="Another", style=discord.ButtonStyle.primary,
                                           custom_id=request.custom_id))
        self.request = request

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> AnotherButton:
        return cls(AnotherRequest(
            owner_id=int(match["owner"]), shown_quote_id=int(match["quote"]),
            by_speaker=bool(match["person"]),
            character_id=int(match["character"]) if match["character"] else None,
            season=int(match["season"]) if match["season"] else None,
        ))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await pressed_by_owner(interaction, self.request.owner_id)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            client = interaction.client
            cog = client.get_cog("Quotes") if isinstance(client, commands.Bot) else None
            if not isinstance(cog, QuoteActions):
                raise RuntimeError("the Quotes cog is not loaded")
            await cog.another(interaction, self.request)
        except Exception as error:
            await report_error(interaction, error)


def another_view(request: AnotherRequest) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AnotherButton(request))
    return view


class SearchPager(OwnedView):
    """Previous / next page of a list: search results, the review queue."""

    def __init__(self, owner_id: int, *, page: int, page_count: int,
                 on_page: Callable[[discord.Interaction, int], Awaitable[None]]) -> None:
        super().__init__(owner_id, timeout=900)
        self.page = page
        self._on_page = on_page
        self.previous.disabled = page <= 0
        self.next.disabled = page >= page_count - 1

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction,
                       button: discord.ui.Button[SearchPager]) -> None:
        await self._on_page(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction,
                   button: discord.ui.Button[SearchPager]) -> None:
        await self._on_page(interaction, self.page + 1)


# How a rejection asks for its reason (the card itself is bot/core/review.py, shared with feeds).
REJECT_REASON = ReasonPrompt(
    label="Reason (optional; the member will see it)",
    placeholder="For example: we couldn't find this in the interview it cites.",
    max_length=MAX_REASON_LENGTH,
)
