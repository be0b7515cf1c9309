"""The buttons and the form of /quote. Each hands the press to the cog, so the logic stays in
one place; failures go through bot/core/errors.py like any command's.

Every button here is a DynamicItem: what a press needs is in its custom_id, so nothing is kept
per message and old messages keep working after a restart. That matters under load: a plain
view on an ephemeral reply is kept by discord.py for 15 minutes with a sleeping task of its own,
so a busy night of searches would pile up thousands of them for the garbage collector to walk.
A search text too long for a custom_id is kept in `RecentSearches`, a bounded table: a page
press on a search that has left it asks for the search again."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import discord

from bot.core.cache import RecentlyUsed
from bot.core.errors import report_error
from bot.core.review import ReasonPrompt
from bot.core.ui import dynamic_view, feature_cog, pressed_by_owner
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

    async def turn_page(self, interaction: discord.Interaction, request: PageRequest) -> None:
        ...


def _actions(interaction: discord.Interaction) -> QuoteActions:
    # mypy wants a concrete class for type[...]; a runtime-checkable Protocol works here.
    return feature_cog(interaction, "Quotes", QuoteActions)  # type: ignore[type-abstract]


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
            await _actions(interaction).another(interaction, self.request)
        except Exception as error:
            await report_error(interaction, error)


def another_view(request: AnotherRequest) -> discord.ui.View:
    return dynamic_view(AnotherButton(request))


# What a page button turns: search results, or the review queue.
SEARCH, QUEUE = "search", "queue"
_QUERY_IN_ID, _QUERY_KEPT = "=", "#"
CUSTOM_ID_LIMIT = 100  # Discord's


class RecentSearches:
    """Search texts too long to ride in a page button's custom_id, by a short key: the newest
    `size` are kept, so memory stays bounded however many searches a busy night brings."""

    def __init__(self, size: int = 4096) -> None:
        self._texts: RecentlyUsed[str, str] = RecentlyUsed(size)

    def key(self, text: str) -> str:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
        self._texts.put(key, text)
        return key

    def text(self, key: str) -> str | None:
        return self._texts.get(key)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A press of Previous or Next: which list, whose, and the page to show."""

    kind: str  # SEARCH or QUEUE
    owner_id: int
    page: int
    direction: str  # "p" or "n": two buttons of one message need two custom_ids
    query: str | None = None  # the search text, when it fits into the custom_id
    query_key: str | None = None  # otherwise its key in RecentSearches

    @property
    def custom_id(self) -> str:
        base = f"quote:{self.kind}:{self.owner_id}:{self.page}:{self.direction}"
        if self.query is not None:
            return f"{base}:{_QUERY_IN_ID}{self.query}"
        if self.query_key is not None:
            return f"{base}:{_QUERY_KEPT}{self.query_key}"
        return base


class PageButton(discord.ui.DynamicItem[discord.ui.Button],
                 template=r"(?s)quote:(?P<kind>search|queue):(?P<owner>\d+):(?P<page>\d{1,6})"
                          r":(?P<dir>[pn])(?::(?P<ref>[=#])(?P<query>.*))?"):
    """Previous / Next under search results and the review queue; only whoever asked may
    press them."""

    def __init__(self, request: PageRequest, *, disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label="Previous" if request.direction == "p" else "Next",
            style=discord.ButtonStyle.secondary, disabled=disabled,
            custom_id=request.custom_id))
        self.request = request

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PageButton:
        kept = match["ref"] == _QUERY_KEPT
        return cls(PageRequest(
            kind=match["kind"], owner_id=int(match["owner"]), page=int(match["page"]),
            direction=match["dir"], query=None if kept else match["query"],
            query_key=match["query"] if kept else None))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await pressed_by_owner(interaction, self.request.owner_id)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await _actions(interaction).turn_page(interaction, self.request)
        except Exception as error:
            await report_error(interaction, error)


def pager_view(kind: str, owner_id: int, *, page: int, page_count: int,
               query: str | None = None,
               searches: RecentSearches | None = None) -> discord.ui.View | None:
    """Previous / Next for page `page` of `page_count` (None when there is one page). A
    search's text goes into the custom_id when it fits, otherwise into `searches`."""
    if page_count <= 1:
        return None
    text = key = None
    if query is not None:
        longest = PageRequest(kind, owner_id, page_count, "n", query=query).custom_id
        # Counted as UTF-16 units, the most any way of counting the limit could make of it.
        if len(longest.encode("utf-16-le")) // 2 <= CUSTOM_ID_LIMIT:
            text = query
        elif searches is not None:
            key = searches.key(query)
        else:
            raise ValueError("a long search text needs RecentSearches")
    return dynamic_view(
        PageButton(PageRequest(kind, owner_id, max(page - 1, 0), "p", text, key),
                   disabled=page <= 0),
        PageButton(PageRequest(kind, owner_id, min(page + 1, page_count - 1), "n", text, key),
                   disabled=page >= page_count - 1))


# How a rejection asks for its reason (the card itself is bot/core/review.py, shared with feeds).
REJECT_REASON = ReasonPrompt(
    label="Reason (optional; the member will see it)",
    placeholder="For example: we couldn't find this in the interview it cites.",
    max_length=MAX_REASON_LENGTH,
)
