"""The story's parts in watching order: seasons 1-3, then the film.

Spoiler gating compares one number (how far a server has watched) with the part a fact is about,
so the film is numbered as the part after the last season. Fans never see that number: they see
"the film". The seed files give the film's part to quotes about it (`"season": 4`), and seeding
refuses a season numbered at or after it.
"""

from __future__ import annotations

FILM_PART = 4
FILM_LABEL = "the film"


def is_film(part: int | None) -> bool:
    return part == FILM_PART


def part_label(part: int) -> str:
    """'season 2' or 'the film', for the middle of a sentence."""
    return FILM_LABEL if part == FILM_PART else f"season {part}"


def part_title(part: int) -> str:
    """'Season 2' or 'The film', to start a sentence or a heading."""
    label = part_label(part)
    return label[0].upper() + label[1:]


def episode_label(season: int, episode: int) -> str:
    """'season 3, episode 4'."""
    return f"season {season}, episode {episode}"
