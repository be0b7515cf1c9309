"""Character cards, the character list, season cards and did-you-mean text.

Spoiler rule: `watched` is how far the server has watched (None: everything released is open).
Anything about a later season is wrapped in spoiler tags, never left out, so fans who have watched
can still read it.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.canon.models import Character, Season, Source
from bot.canon.parts import FILM_LABEL, FILM_PART, part_label
from bot.characters.index import Match
from bot.core.formatting import (
    BRAND_COLOUR,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    escape,
    month_label,
    plural,
    safe,
    spoiler,
    truncate,
)
from bot.news.models import NewsItem

CHARACTERS_PER_PAGE = 10
ROLE_LABELS = {"student": "Student", "staff": "School staff", "family": "Family", "other": "Other"}


def is_hidden(season: int | None, watched: int | None) -> bool:
    return season is not None and watched is not None and season > watched


def _gate(text: str, season: int | None, watched: int | None) -> str:
    return spoiler(text) if is_hidden(season, watched) else text


def seasons_label(seasons: Sequence[int], in_film: bool, watched: int | None) -> str:
    """'1, 2, 3 and the film', each part the server has not watched in spoiler tags (the film
    comes after the last season)."""
    parts = [_gate(str(s), s, watched) for s in seasons]
    film = _gate(FILM_LABEL, FILM_PART, watched) if in_film else None
    if not parts:
        return film or "unknown"
    return ", ".join(parts) + (f" and {film}" if film else "")


def seasons_phrase(seasons: Sequence[int], in_film: bool, watched: int | None) -> str:
    """'season 3', 'seasons 1, 2 and the film', or 'the film', for a line of the list."""
    label = seasons_label(seasons, in_film, watched)
    if not seasons:
        return label
    return ("season " if len(seasons) == 1 else "seasons ") + label


def sources_footer(sources: Sequence[Source], prefix: str = "Sources") -> str:
    if not sources:
        return ""
    # Several pages of one site read as one name: each name once.
    labels = dict.fromkeys(s.label for s in sources)
    return truncate(f"{prefix}: " + ", ".join(labels), EMBED_FOOTER_LIMIT)


def _join_within(parts: Sequence[str], limit: int, separator: str = "\n\n") -> str:
    """Join whole parts while they fit, so a cut never lands inside spoiler bars or bold."""
    kept: list[str] = []
    used = 0
    for part in parts:
        extra = len(part) + (len(separator) if kept else 0)
        if used + extra > limit:
            if not kept:
                kept.append(truncate(part, limit))
            break
        kept.append(part)
        used += extra
    return separator.join(kept)


def character_embed(character: Character, *, quote_count: int, watched: int | None
                    ) -> discord.Embed:
    # A character who first appears in a season the server has not watched is itself a spoiler.
    first = character.first_season
    parts = [_gate(escape(character.description), first, watched)] if character.description else []
    for season, arc in sorted(character.arcs.items()):
        parts.append(_gate(f"**Season {season}:** {escape(arc)}", season, watched))
    embed = discord.Embed(
        title=safe(character.name, EMBED_TITLE_LIMIT),
        description=_join_within(parts, EMBED_DESCRIPTION_LIMIT) or None,
        colour=BRAND_COLOUR,
    )
    actor = safe(character.actor.name, 200) if character.actor else "unknown"
    actor = _gate(actor, first, watched)
    embed.add_field(name="Played by", value=actor)
    embed.add_field(name="Seasons",
                    value=seasons_label(character.seasons, character.in_film, watched))
    embed.add_field(name="Role", value=ROLE_LABELS.get(character.role, "Other"))
    if character.school:
        school = escape(character.school)
        if character.school_detail:
            school += f" ({escape(character.school_detail)})"
        embed.add_field(name="School", value=truncate(school, EMBED_FIELD_VALUE_LIMIT))
    embed.add_field(
        name="Quotes",
        value=f"{plural(quote_count, 'quote')} by or about them" if quote_count
        else "No quotes by or about them yet",
    )
    footer = sources_footer(character.sources)
    if footer:
        embed.set_footer(text=footer)
    return embed


def character_line(character: Character, watched: int | None) -> str:
    actor = f" — {escape(character.actor.name)}" if character.actor else ""
    seasons = seasons_phrase(character.seasons, character.in_film, watched)
    return truncate(f"**{escape(character.name)}**{actor} · {seasons}", 300)


def page_count(total: int, per_page: int = CHARACTERS_PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def character_list_embed(characters: Sequence[Character], *, page: int, season: int | None,
                         watched: int | None) -> discord.Embed:
    pages = page_count(len(characters))
    page = min(max(page, 0), pages - 1)
    shown = characters[page * CHARACTERS_PER_PAGE:(page + 1) * CHARACTERS_PER_PAGE]
    if season is None:
        title = "Characters"
    else:
        title = f"Characters in season {season}"
        if is_hidden(season, watched):
            title += " (spoilers hidden)"
    whole_page_hidden = season is not None and is_hidden(season, watched)
    # Inside a page that is one spoiler, a line's own spoiler bars would be escaped (spoilers do
    # not nest) and show as literal '||2||' once revealed: the lines are then written open.
    lines = [character_line(c, None if whole_page_hidden else watched) for c in shown]
    body = "\n".join(lines) if lines else "No characters found."
    if whole_page_hidden:
        body = spoiler(body)
    embed = discord.Embed(title=title, description=truncate(body, EMBED_DESCRIPTION_LIMIT),
                          colour=BRAND_COLOUR)
    embed.set_footer(text=f"Page {page + 1} of {pages} · {plural(len(characters), 'character')}")
    return embed


def did_you_mean_text(query: str, candidates: Sequence[Match]) -> str:
    shown = safe(query, 100)
    if not candidates:
        return (f"No character matches “{shown}”. Try `/characters` for the full list, or pick a "
                "suggestion while typing.")
    return f"No character is called exactly “{shown}”. Did you mean one of these?"


def _episodes(season: Season) -> str | None:
    if not season.episodes:
        return None
    numbered = [f"{i}. {escape(t)}" for i, t in enumerate(season.episodes, start=1)]
    return truncate("\n".join(numbered), EMBED_FIELD_VALUE_LIMIT)


def season_embed(season: Season, *, announcements: Sequence[NewsItem], watched: int | None,
                 film_note: str | None = None) -> discord.Embed:
    hidden = is_hidden(season.number, watched)
    released = month_label(season.release_date) or "not announced"
    status = season.status.capitalize()
    lines = [f"**Status:** {status}", f"**Release date:** {released}"]
    if season.episode_count:
        lines.append(f"**Episodes:** {season.episode_count}")
    parts: list[str] = ["\n".join(lines)]
    episodes = _episodes(season)
    if episodes:
        parts.append("**Episode titles**\n" + (spoiler(episodes) if hidden else episodes))
    if season.new_cast:
        cast = ", ".join(escape(p.name) for p in season.new_cast)
        # In the first season everyone is new: its list is the cast.
        label = "**Cast:** " if season.number == 1 else "**New cast:** "
        parts.append(label + (spoiler(cast) if hidden else cast))
    if announcements:
        news_lines = [
            f"• {month_label(n.published)}: {_gate(escape(n.title), n.season, watched)}"
            for n in announcements
        ]
        parts.append("**Announced before release**\n" + "\n".join(news_lines))
    if film_note:
        parts.append(film_note)
    embed = discord.Embed(
        title=safe(season.title, EMBED_TITLE_LIMIT) + (" (spoilers hidden)" if hidden else ""),
        description=_join_within(parts, EMBED_DESCRIPTION_LIMIT),
        colour=BRAND_COLOUR,
    )
    cited: dict[str, Source] = {s.key: s for s in season.sources}
    for item in announcements:
        cited.update((s.key, s) for s in item.sources)
    footer = sources_footer(list(cited.values()))
    if footer:
        embed.set_footer(text=footer)
    return embed


def spoiler_setting_text(watched: int | None, latest_released: int | None) -> str:
    if watched is None:
        return ("Spoilers: everything released is shown openly"
                + (f" (up to {part_label(latest_released)})." if latest_released else "."))
    if watched == 0:
        return ("Spoilers: this server hasn't started watching; everything about any season and "
                "the film is hidden.")
    if watched >= FILM_PART:
        return ("Spoilers: this server has watched everything, the film included: nothing is "
                "hidden.")
    return (f"Spoilers: this server has watched up to season {watched}. Anything about a later "
            "season or the film is hidden behind spoiler tags.")
