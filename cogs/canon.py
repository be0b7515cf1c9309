"""/film, /episode and /awards: the rest of the canon, beside /season (cogs/characters.py)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.canon.render import (
    awards_embed,
    episode_embed,
    film_embed,
    no_episode_text,
    no_season_text,
)
from bot.client import HeartstopperBot
from bot.core.errors import UserFacingError
from bot.core.ui import reply
from bot.quotes.models import Quote

# Quotes listed on an episode's card; more would crowd it (the embed stays within its limits
# whatever the number, by construction).
EPISODE_QUOTES = 5


class Canon(commands.Cog):
    def __init__(self, bot: HeartstopperBot) -> None:
        self.bot = bot
        self.store = bot.store

    @app_commands.command(name="film", description="The film Heartstopper Forever: status, "
                                                   "release and what is known")
    async def film(self, interaction: discord.Interaction) -> None:
        films = await self.store.canon.films()
        if not films:
            raise UserFacingError("I don't know about a film yet.")
        characters = [c for c in self.bot.characters.index.characters if c.in_film]
        watched = await self.store.guilds.watched_season(interaction.guild_id)
        await reply(interaction, embed=film_embed(films[0], characters=characters,
                                                  watched=watched), ephemeral=False)

    @app_commands.command(name="episode", description="One episode: its title, its season and "
                                                      "what was said about it")
    @app_commands.describe(season="The season number", number="The episode's number in its season")
    async def episode(self, interaction: discord.Interaction,
                      season: app_commands.Range[int, 1, 99],
                      number: app_commands.Range[int, 1, 99]) -> None:
        seasons = {s.number: s for s in await self.store.canon.seasons()}
        card = seasons.get(season)
        if card is None:
            # Season 4 is where the film comes: the answer points to /film.
            raise UserFacingError(no_season_text(season, list(seasons),
                                                 await self.store.canon.films()))
        found = next((e for e in card.episode_list if e.number == number), None)
        if found is None:
            raise UserFacingError(no_episode_text(card, number))
        ids = await self.store.canon.episode_quote_ids(season, number, interaction.guild_id)
        quotes: list[Quote] = []
        for quote_id in ids[:EPISODE_QUOTES]:
            quote = await self.store.quotes.quote(quote_id)
            if quote is not None:
                quotes.append(quote)
        watched = await self.store.guilds.watched_season(interaction.guild_id)
        await reply(interaction, embed=episode_embed(card, found, quotes=quotes, watched=watched),
                    ephemeral=False)

    @app_commands.command(name="awards", description="The awards Heartstopper and its people "
                                                     "have won")
    async def awards(self, interaction: discord.Interaction) -> None:
        await reply(interaction, embed=awards_embed(await self.store.canon.awards()),
                    ephemeral=False)


async def setup(bot: HeartstopperBot) -> None:
    await bot.add_cog(Canon(bot))
