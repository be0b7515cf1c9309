"""The /about card."""

from __future__ import annotations

import discord

from bot.canon.models import StoreStats
from bot.core.formatting import BRAND_COLOUR, plural


def about_embed(stats: StoreStats, guild_count: int) -> discord.Embed:
    embed = discord.Embed(
        title="Heartstopper bot",
        description=(
            "Character lookups, attributed quotes from the creator and cast, and season news "
            "for fans of Alice Oseman's Heartstopper. Every quote names who said it, to whom "
            "and when; every fact names its source."
        ),
        colour=BRAND_COLOUR,
    )
    embed.add_field(name="Characters", value=str(stats.characters))
    embed.add_field(name="Quotes", value=str(stats.quotes_canon + stats.quotes_approved))
    embed.add_field(name="News items", value=str(stats.news_items))
    embed.set_footer(text=f"Serving {plural(guild_count, 'server')} · data from public "
                     "interviews and press, credited per item")
    return embed
