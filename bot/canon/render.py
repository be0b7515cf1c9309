"""The film card, episode cards and the awards list, and the line naming what exists.

Pure functions, within Discord's limits by construction. The spoiler rule is the characters'
(bot/characters/render.py): `watched` is how far the server has watched, None when everything
released is open; the film is the part after the last season (bot/canon/parts.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import discord

from bot.canon.models import Award, Character, Episode, Film, Season, Source
from bot.canon.parts import FILM_PART
from bot.core.formatting import (
    BRAND_COLOUR,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    escape,
    fit_blocks,
    month_label,
    plural,
    safe,
    spoiler,
    truncate,
)
from bot.quotes.models import Quote

STATUS_LABELS = {
    "released": "Released",
    "wrapped": "Filming has finished; not released yet",
    "filming": "Filming",
    "announced": "Announced",
}
_QUOTE_LINE_LIMIT = 300
_AWARDS_PER_EMBED = 25
_AWARD_NAME_LIMIT = 200
_AWARD_VALUE_LIMIT = 700
_AWARDS_BUDGET = EMBED_TOTAL_LIMIT - 300  # title and footer


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.capitalize())


def hidden(part: int | None, watched: int | None) -> bool:
    return part is not None and watched is not None and part > watched


def cited(*groups: Iterable[Source]) -> list[Source]:
    """Every source once, in the order first cited."""
    seen: dict[str, Source] = {}
    for group in groups:
        for source in group:
            seen.setdefault(source.key, source)
    return list(seen.values())


def sources_footer(sources: Sequence[Source]) -> str | None:
    if not sources:
        return None
    # Several pages of one site read as one name: each name once.
    labels = dict.fromkeys(s.label for s in sources)
    return truncate("Sources: " + ", ".join(labels), EMBED_FOOTER_LIMIT)


def season_range_text(seasons: Sequence[int], films: Sequence[Film]) -> str:
    """'Heartstopper has seasons 1-3, and the film Heartstopper Forever (2026).'"""
    if not seasons:
        return "I don't know any seasons yet."
    numbers = sorted(seasons)
    text = (f"Heartstopper has season {numbers[0]}" if len(numbers) == 1
            else f"Heartstopper has seasons {numbers[0]}-{numbers[-1]}")
    if films:
        year = f" ({films[0].release_year})" if films[0].release_year else ""
        text += f", and the film {escape(films[0].title)}{year}"
    return text + "."


def no_season_text(number: int, seasons: Sequence[int], films: Sequence[Film]) -> str:
    if number == FILM_PART and films:
        return (f"There is no season {number}: Heartstopper ends with the film "
                f"{escape(films[0].title)} instead. `/film` shows what is known about it.")
    return f"There is no season {number}. {season_range_text(seasons, films)}"


def _release_text(film: Film) -> str:
    if film.release_date:
        return month_label(film.release_date) or film.release_date
    if film.release_year:
        return f"{film.release_year} (no exact date announced)"
    return "not announced"


def film_embed(film: Film, *, characters: Sequence[Character], watched: int | None
               ) -> discord.Embed:
    """The film's card: status and release are open to everyone (as a season's are); what is
    known and who is in it are spoilers for a server that has not reached the film."""
    is_hidden = hidden(FILM_PART, watched)
    parts = ["\n".join([f"**Status:** {status_label(film.status)}",
                        f"**Release:** {_release_text(film)}"])]
    if film.known:
        facts = "\n".join(f"• {escape(f.text)}" for f in film.known)
        facts = truncate(facts, EMBED_DESCRIPTION_LIMIT // 2)
        parts.append("**What is known**\n" + (spoiler(facts) if is_hidden else facts))
    if characters:
        cast = ", ".join(
            escape(c.name) + (f" ({escape(c.actor.name)})" if c.actor else "")
            for c in characters)
        cast = truncate(cast, EMBED_FIELD_VALUE_LIMIT)
        parts.append("**Characters in it:** " + (spoiler(cast) if is_hidden else cast))
    title = safe(film.title, EMBED_TITLE_LIMIT - 40) + " (the film)"
    embed = discord.Embed(
        title=title + (" (spoilers hidden)" if is_hidden else ""),
        description=truncate("\n\n".join(parts), EMBED_DESCRIPTION_LIMIT),
        colour=BRAND_COLOUR,
    )
    footer = sources_footer(cited(film.sources, *(f.sources for f in film.known)))
    if footer:
        embed.set_footer(text=footer)
    return embed


def _quote_line(quote: Quote) -> str:
    name = quote.speaker.name if quote.speaker else quote.speaker_name
    return safe(f"{name}: “{quote.text}”", _QUOTE_LINE_LIMIT)


def episode_embed(season: Season, episode: Episode, *, quotes: Sequence[Quote],
                  watched: int | None) -> discord.Embed:
    """One episode: its title (a spoiler where the server has not watched its season), its
    season's release, and the quotes about it."""
    is_hidden = hidden(season.number, watched)
    lines = [f"**Title:** {spoiler(escape(episode.title))}"] if is_hidden else []
    lines += [f"**Season:** {season.number} (released "
             f"{month_label(season.release_date) or 'on a date not announced'})"
             if season.status == "released" else f"**Season:** {season.number}"]
    count = len(season.episode_list) or season.episode_count
    if count:
        lines.append(f"**Episode:** {episode.number} of {count}")
    parts = ["\n".join(lines)]
    if quotes:
        said = fit_blocks([_quote_line(q) for q in quotes], EMBED_DESCRIPTION_LIMIT // 2,
                          separator="\n", more="more quote")
        parts.append("**Said about it**\n" + (spoiler(said) if is_hidden else said))
    heading = f"Season {season.number}, episode {episode.number}"
    embed = discord.Embed(
        title=heading + (" (spoilers hidden)" if is_hidden
                         else f": {truncate(episode.title, EMBED_TITLE_LIMIT - 40)}"),
        description=truncate("\n\n".join(parts), EMBED_DESCRIPTION_LIMIT),
        colour=BRAND_COLOUR,
    )
    footer = sources_footer(cited(episode.sources, *(q.sources for q in quotes)))
    if footer:
        embed.set_footer(text=footer)
    return embed


def no_episode_text(season: Season, number: int) -> str:
    count = len(season.episode_list)
    if not count:
        return f"I don't know the episodes of season {season.number} yet."
    return (f"Season {season.number} has {plural(count, 'episode')}: pick a number from 1 to "
            f"{count}, or see them all with `/season number:{season.number}`.")


def awards_embed(awards: Sequence[Award]) -> discord.Embed:
    """Every award, oldest first: the year, the award, the result, and where it is reported."""
    embed = discord.Embed(title="Awards", colour=BRAND_COLOUR)
    if not awards:
        embed.description = "I don't know of any awards yet."
        return embed
    used = 0
    shown = 0
    for award in awards[:_AWARDS_PER_EMBED]:
        where = ", ".join(s.label for s in award.sources)
        value = escape(award.result) + (f"\n*Source: {escape(where)}*" if where else "")
        name = safe(f"{award.year} · {award.award}", _AWARD_NAME_LIMIT)
        value = truncate(value, _AWARD_VALUE_LIMIT)
        # Whole awards while the embed stays inside Discord's 6,000 characters.
        if used + len(name) + len(value) > _AWARDS_BUDGET:
            break
        used += len(name) + len(value)
        shown += 1
        embed.add_field(name=name, value=value, inline=False)
    more = f" (the first {shown} shown)" if shown < len(awards) else ""
    embed.set_footer(text=f"{plural(len(awards), 'award')}{more} · results as reported at the "
                          "time")
    return embed

