"""The `/quote search` reply: the results card (bot/quotes/render.py search_embed) with, first,
how the search was read when that differs from how it was typed, and the other spellings
searched for. Pure: a search result in, an embed out."""

from __future__ import annotations

import discord

from bot.core.formatting import EMBED_DESCRIPTION_LIMIT, truncate
from bot.quotes.render import search_embed
from bot.quotes.search import SEARCH_HELP, SearchResult


def search_reply_embed(result: SearchResult, *, watched_season: int | None) -> discord.Embed:
    embed = search_embed(result.query, result.page, literal=False, help_text=SEARCH_HELP,
                         watched_season=watched_season)
    note = result.reading_note
    if note:
        parts = [note + (f" {SEARCH_HELP}" if result.notes else ""), embed.description or ""]
        embed.description = truncate("\n\n".join(p for p in parts if p),
                                     EMBED_DESCRIPTION_LIMIT)
    return embed
