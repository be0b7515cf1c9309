"""/character, /characters, /season and /spoilers: who is who, and what each season holds."""

from __future__ import annotations

import logging
import random

import discord
from discord import app_commands
from discord.ext import commands

from bot.canon.models import Character, Season
from bot.canon.parts import FILM_PART, part_title
from bot.canon.render import no_season_text
from bot.characters.components import (
    DYNAMIC_ITEMS,
    card_view,
    did_you_mean_view,
    pages_view,
)
from bot.characters.index import MAX_CHOICES
from bot.characters.render import (
    character_embed,
    character_list_embed,
    did_you_mean_text,
    page_count,
    season_embed,
    spoiler_setting_text,
)
from bot.client import HeartstopperBot
from bot.core.cache import RecentlyUsed
from bot.core.errors import NO_MENTIONS, UserFacingError
from bot.core.formatting import CHOICE_NAME_LIMIT, truncate
from bot.core.ui import reply
from bot.quotes.render import quote_embed

log = logging.getLogger(__name__)

# Autocomplete answers kept, by the text typed (see character_autocomplete).
CHOICE_LISTS_KEPT = 4096
# How far a server has watched, in watching order: the film is the part after the last season.
SPOILER_CHOICES = [
    app_commands.Choice(name="None yet", value=0),
    *(app_commands.Choice(name=part_title(part), value=part) for part in range(1, FILM_PART + 1)),
]


class Characters(commands.Cog):
    def __init__(self, bot: HeartstopperBot) -> None:
        self.bot = bot
        self.store = bot.store
        self.directory = bot.characters
        self._choices: RecentlyUsed[str, list[app_commands.Choice[str]]] = RecentlyUsed(
            CHOICE_LISTS_KEPT)
        self._choices_generation = -1

    async def cog_load(self) -> None:
        await self.directory.keep_fresh(background=self.bot.run_services)
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        if self.bot.run_services:
            await self.directory.release()
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    # ---- helpers shared by commands and buttons ------------------------------------------

    async def _card(self, character: Character, guild_id: int | None
                    ) -> tuple[discord.Embed, discord.ui.View | None]:
        watched = await self.store.guilds.watched_season(guild_id)
        quote_ids = await self.store.canon.character_quote_ids(character.id, guild_id)
        embed = character_embed(character, quote_count=len(quote_ids), watched=watched)
        return embed, card_view(character.id, len(quote_ids))

    async def _seasons(self) -> dict[int, Season]:
        return {s.number: s for s in await self.store.canon.seasons()}

    async def _no_season_text(self, number: int) -> str:
        return no_season_text(number, list(await self._seasons()),
                              await self.store.canon.films())

    # ---- /character -----------------------------------------------------------------------

    @app_commands.command(name="character", description="Who a Heartstopper character is and "
                                                        "who plays them")
    @app_commands.describe(name="A character's name, nickname, or the actor's name")
    async def character(self, interaction: discord.Interaction,
                        name: app_commands.Range[str, 1, 100]) -> None:
        found, candidates = self.directory.index.resolve(name)
        if found is not None:
            embed, view = await self._card(found, interaction.guild_id)
            await reply(interaction, embed=embed, view=view or discord.utils.MISSING,
                        ephemeral=False)
            return
        if not candidates or candidates[0].score < 70:
            raise UserFacingError(did_you_mean_text(name, []))
        await reply(interaction, did_you_mean_text(name, candidates),
                    view=did_you_mean_view(interaction.user.id, candidates), ephemeral=False)

    @character.autocomplete("name")
    async def character_autocomplete(self, interaction: discord.Interaction, current: str
                                     ) -> list[app_commands.Choice[str]]:
        # Fans type the same first letters of the same names: the choices made for a text are
        # kept until the index is rebuilt (discord.py only reads them).
        index = self.directory.index
        if self._choices_generation != index.generation:
            self._choices.clear()
            self._choices_generation = index.generation
        kept = self._choices.get(current)
        if kept is not None:
            return kept
        choices = []
        for match in index.search(current, MAX_CHOICES):
            character = match.character
            label = character.name
            if character.actor:
                label += f" ({character.actor.name})"
            choices.append(app_commands.Choice(name=truncate(label, CHOICE_NAME_LIMIT),
                                               value=character.name[:100]))
        self._choices.put(current, choices)
        return choices

    async def show_character(self, interaction: discord.Interaction, character_id: int) -> None:
        character = self.directory.index.get(character_id)
        if character is None:
            raise UserFacingError("That character is no longer in my list; try `/character` "
                                  "again.")
        embed, view = await self._card(character, interaction.guild_id)
        await interaction.response.edit_message(content=None, embed=embed, view=view,
                                                allowed_mentions=NO_MENTIONS)

    async def show_quote(self, interaction: discord.Interaction, character_id: int) -> None:
        ids = await self.store.canon.character_quote_ids(character_id, interaction.guild_id)
        # The quotes repository's loader fills in whom the speaker plays, as /quote does.
        quote = await self.store.quotes.quote(random.choice(ids)) if ids else None
        if quote is None:
            raise UserFacingError("I have no quotes by or about this character right now.")
        watched = await self.store.guilds.watched_season(interaction.guild_id)
        await reply(interaction, embed=quote_embed(quote, watched_season=watched))

    # ---- /characters ----------------------------------------------------------------------

    async def _list(self, owner_id: int, guild_id: int | None, season: int | None, page: int
                    ) -> tuple[discord.Embed, discord.ui.View | None]:
        if season is not None and season not in await self._seasons():
            raise UserFacingError(await self._no_season_text(season))
        characters = [c for c in self.directory.index.characters
                      if season is None or season in c.seasons]
        watched = await self.store.guilds.watched_season(guild_id)
        pages = page_count(len(characters))
        page = min(max(page, 0), pages - 1)
        embed = character_list_embed(characters, page=page, season=season, watched=watched)
        return embed, pages_view(owner_id, season, page, pages)

    @app_commands.command(name="characters", description="Every character, or those in one season")
    @app_commands.describe(season="Only characters who appear in this season")
    async def characters(self, interaction: discord.Interaction,
                         season: app_commands.Range[int, 1, 99] | None = None) -> None:
        embed, view = await self._list(interaction.user.id, interaction.guild_id, season, 0)
        await reply(interaction, embed=embed, view=view or discord.utils.MISSING, ephemeral=False)

    async def show_page(self, interaction: discord.Interaction, season: int | None,
                        page: int) -> None:
        embed, view = await self._list(interaction.user.id, interaction.guild_id, season, page)
        await interaction.response.edit_message(embed=embed, view=view,
                                                allowed_mentions=NO_MENTIONS)

    # ---- /season --------------------------------------------------------------------------

    @app_commands.command(name="season", description="A season's card: release, episodes, new "
                                                     "cast and what was announced")
    @app_commands.describe(number="The season number")
    async def season(self, interaction: discord.Interaction,
                     number: app_commands.Range[int, 1, 99]) -> None:
        seasons = await self._seasons()
        card = seasons.get(number)
        if card is None:
            raise UserFacingError(await self._no_season_text(number))
        news = await self.store.news.latest(50, season=number)
        before_release = [n for n in reversed(news)
                          if card.release_date is None or n.published < card.release_date]
        watched = await self.store.guilds.watched_season(interaction.guild_id)
        await reply(interaction,
                    embed=season_embed(card, announcements=before_release, watched=watched),
                    ephemeral=False)

    # ---- /spoilers ------------------------------------------------------------------------

    @app_commands.command(name="spoilers", description="How far this server has watched; later "
                                                       "seasons get spoiler tags")
    @app_commands.describe(season="Last part everyone here has watched: none, a season or the "
                                  "film. Empty shows the setting.")
    @app_commands.choices(season=SPOILER_CHOICES)
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def spoilers(self, interaction: discord.Interaction,
                       season: int | None = None) -> None:
        assert interaction.guild_id is not None
        if season is not None and not 0 <= season <= FILM_PART:
            # Discord offers only the choices, but a crafted request can carry any number.
            raise UserFacingError("Pick one of the offered choices: none yet, a season, or the "
                                  "film.")
        released = [s.number for s in (await self._seasons()).values() if s.status == "released"]
        latest = max(released) if released else None
        if season is not None:
            # Watching everything released is the default; store it as "no limit" so a new
            # season is open here as soon as it is released. The film is stored as itself: the
            # server has seen everything, and the reply says so.
            watched = (None if latest is not None and latest <= season < FILM_PART
                       else season)
            await self.store.guilds.set_watched_season(interaction.guild_id, watched)
        current = await self.store.guilds.watched_season(interaction.guild_id)
        await reply(interaction, spoiler_setting_text(current, latest))


async def setup(bot: HeartstopperBot) -> None:
    await bot.add_cog(Characters(bot))
