"""Buttons of the character commands.

They are DynamicItems: everything a press needs is in its custom_id, so buttons on old messages
keep working after a restart, with nothing held in memory. The cog supplies the behaviour through
`CharacterActions`, so these classes stay free of store and rendering code.

A custom_id can be forged (a modified client sends any), so nothing in it is trusted beyond what
it names: characters are canon, shared by every server, and what a press shows of them is this
server's (its quotes, its spoiler setting), never the server the button came from. An id too
big for the database is refused before it reaches a query.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.characters.index import Kind
from bot.core.errors import report_error
from bot.core.formatting import BUTTON_LABEL_LIMIT, truncate
from bot.core.ui import dynamic_view, feature_cog, pressed_by_owner, reply

_MAX_ID = 2**63 - 1  # SQLite's largest integer
BROKEN_BUTTON = "That button doesn't work. Run the command again for a new one."


@runtime_checkable
class CharacterActions(Protocol):
    async def show_character(self, interaction: discord.Interaction, character_id: int) -> None:
        ...

    async def show_quote(self, interaction: discord.Interaction, character_id: int) -> None:
        ...

    async def show_page(self, interaction: discord.Interaction, season: int | None,
                        page: int) -> None:
        ...


def _actions(interaction: discord.Interaction) -> CharacterActions:
    # mypy wants a concrete class for type[...]; a runtime-checkable Protocol works here.
    return feature_cog(interaction, "Characters", CharacterActions)  # type: ignore[type-abstract]


class _Guarded:
    """Routes a press's failure through the bot's one error path and limits presses to the
    member who asked, where the custom_id names one."""

    owner_id: int | None = None
    character_id: int | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self.character_id is not None and self.character_id > _MAX_ID:
            await reply(interaction, BROKEN_BUTTON)
            return False
        if self.owner_id is not None:
            return await pressed_by_owner(interaction, self.owner_id)
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self.run(interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def run(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError


class PickCharacterButton(_Guarded, discord.ui.DynamicItem[discord.ui.Button],
                          template=r"character:pick:(?P<owner>\d+):(?P<cid>\d+)"):
    """A did-you-mean candidate: pressing it turns the question into that character's card."""

    character_id: int

    def __init__(self, owner_id: int, character_id: int, label: str) -> None:
        super().__init__(discord.ui.Button(
            label=truncate(label, BUTTON_LABEL_LIMIT), style=discord.ButtonStyle.primary,
            custom_id=f"character:pick:{owner_id}:{character_id}",
        ))
        self.owner_id = owner_id
        self.character_id = character_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PickCharacterButton:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(int(match["owner"]), int(match["cid"]), label or "?")

    async def run(self, interaction: discord.Interaction) -> None:
        await _actions(interaction).show_character(interaction, self.character_id)


class ShowQuoteButton(_Guarded, discord.ui.DynamicItem[discord.ui.Button],
                      template=r"character:quote:(?P<cid>\d+)"):
    """Anyone may ask for a quote by or about the character on the card."""

    character_id: int

    def __init__(self, character_id: int) -> None:
        super().__init__(discord.ui.Button(
            label="Show a quote", style=discord.ButtonStyle.secondary,
            custom_id=f"character:quote:{character_id}",
        ))
        self.character_id = character_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> ShowQuoteButton:
        return cls(int(match["cid"]))

    async def run(self, interaction: discord.Interaction) -> None:
        await _actions(interaction).show_quote(interaction, self.character_id)


class PageButton(_Guarded, discord.ui.DynamicItem[discord.ui.Button],
                 template=r"characters:page:(?P<owner>\d+):(?P<season>\d+):(?P<page>\d+):(?P<dir>[pn])"):
    """Previous / Next on the character list. Season 0 means every season."""

    def __init__(self, owner_id: int, season: int | None, page: int, direction: str, *,
                 disabled: bool = False) -> None:
        label = "Previous" if direction == "p" else "Next"
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
            custom_id=f"characters:page:{owner_id}:{season or 0}:{page}:{direction}",
        ))
        self.owner_id = owner_id
        self.season = season
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PageButton:
        return cls(int(match["owner"]), int(match["season"]) or None, int(match["page"]),
                   match["dir"])

    async def run(self, interaction: discord.Interaction) -> None:
        await _actions(interaction).show_page(interaction, self.season, self.page)


def card_view(character_id: int, quote_count: int) -> discord.ui.View | None:
    if not quote_count:
        return None
    return dynamic_view(ShowQuoteButton(character_id))


def did_you_mean_view(owner_id: int, candidates: list[Any]) -> discord.ui.View:
    buttons = []
    for match in candidates:
        character = match.character
        if match.kind is Kind.MENTION:  # not their name: say why they are offered
            label = f"{character.name} (card mentions {match.matched})"
        else:
            label = character.name + (f" ({character.actor.name})" if character.actor else "")
        buttons.append(PickCharacterButton(owner_id, character.id, label))
    return dynamic_view(*buttons)


def pages_view(owner_id: int, season: int | None, page: int, pages: int) -> discord.ui.View | None:
    if pages <= 1:
        return None
    # The custom_id names the page to go to, so each press is self-contained.
    return dynamic_view(
        PageButton(owner_id, season, max(page - 1, 0), "p", disabled=page == 0),
        PageButton(owner_id, season, min(page + 1, pages - 1), "n", disabled=page >= pages - 1))


DYNAMIC_ITEMS = (PickCharacterButton, ShowQuoteButton, PageButton)
