"""Who `person:` means in `/quote random`: the people with quotes in a server's pool, matched
by full name, first name, surname (any word of the name), the start of one, or a near spelling.

`kit` finds Kit Connor and `oseman` Alice Oseman, as `/character name:kit` finds Nick Nelson.
A typed name that fits several people is asked about (with the names to pick from), never
settled on one of them; a near spelling settles only when it is clearly one person (the same
rules as the character index: `bot/characters/index.py`).

The names come from the quotes repository's `speakers` (kept in the read cache: autocomplete
asks on every keystroke) and are ranked here, in memory, with rapidfuzz for the typos.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bot.characters.index import normalise, typo_confidence
from bot.core.errors import UserFacingError
from bot.core.formatting import escape, truncate

if TYPE_CHECKING:  # the store imports every feature's repository
    from bot.quotes.store import QuotesRepository

# Every person quoted in a server is read for matching; beyond this many a server's members
# have submitted quotes by thousands of different people, and the rest are left out.
MAX_SPEAKERS = 5000
# One scale: the full name beats a whole word of it beats a name's start beats a word's start
# beats letters inside a word beats a near spelling.
EXACT = 100.0
WORD = 95.0
PREFIX = 90.0
WORD_PREFIX = 85.0
INSIDE = 70.0
TYPO_CAP = 69.0
TYPO_CUTOFF = 60.0
# A near spelling settles on its own only this close letter by letter (as for characters), and
# is offered at all only this close.
TYPO_CONFIDENCE = 0.75
OFFER_CONFIDENCE = 0.6
ASKED = 5  # names listed when a typed name fits several people


@dataclass(frozen=True, slots=True)
class PersonMatch:
    name: str  # as stored
    score: float


# Autocomplete ranks the same names on every keystroke: their normalised forms are kept.
_normalised = functools.lru_cache(maxsize=MAX_SPEAKERS * 2)(normalise)


def _as_typed(name: str, words: list[str], q: str) -> float:
    """How `name` (normalised, and its words) matches `q` as typed; 0 if it does not."""
    if name == q:
        return EXACT
    typed = q.split(" ")
    if all(t in words for t in typed):
        return WORD
    if name.startswith(q):
        return PREFIX
    # Every typed word begins a word of the name, the last one possibly unfinished.
    if all(any(w.startswith(t) for w in words) for t in typed):
        return WORD_PREFIX
    if q in name:
        return INSIDE
    return 0.0


def rank_people(names: Sequence[str], typed: str, limit: int = 25) -> list[PersonMatch]:
    """The people in `names` that `typed` fits, best first (ties A to Z); near spellings only
    when nothing fits as typed."""
    q = normalise(typed)
    if not q:
        return [PersonMatch(n, 0.0) for n in sorted(names, key=str.casefold)[:limit]]
    normalised = [_normalised(n) for n in names]
    found = []
    typed_words = q.split(" ")
    for name, norm in zip(names, normalised, strict=True):
        # Every way of matching as typed needs each typed word somewhere in the name: a quick
        # test that rules out most names before the word by word one.
        if not all(t in norm for t in typed_words):
            continue
        score = _as_typed(norm, norm.split(" "), q)
        if score:
            found.append(PersonMatch(name, score))
    if not found:
        for _, score, i in process.extract(q, normalised, scorer=fuzz.WRatio, processor=None,
                                           score_cutoff=TYPO_CUTOFF, limit=limit * 2):
            found.append(PersonMatch(names[i], min(score, TYPO_CAP)))
        found.sort(key=lambda m: (-m.score, m.name.casefold()))
        best = found[0] if found else None
        found = [m for m in found if m is best
                 or typo_confidence(q, m.name) >= OFFER_CONFIDENCE]
    found.sort(key=lambda m: (-m.score, m.name.casefold()))
    return found[:limit]


def pick_person(names: Sequence[str], typed: str) -> tuple[str | None, list[PersonMatch]]:
    """(the person `typed` clearly means, []) or (None, the people it could mean)."""
    ranked = rank_people(names, typed, ASKED + 1)
    if not ranked:
        return None, []
    top = ranked[0]
    as_typed = [m for m in ranked if m.score >= WORD_PREFIX]  # each typed word begins a word
    if top.score == EXACT or len(as_typed) == 1 or (
            top.score == WORD and sum(m.score == WORD for m in ranked) == 1):
        return top.name, []
    if (not as_typed and typo_confidence(typed, top.name) >= TYPO_CONFIDENCE
            and (len(ranked) == 1 or top.score - ranked[1].score >= 6.0)):
        return top.name, []
    return None, (as_typed or ranked)[:ASKED]


def _listed(names: list[str]) -> str:
    shown = [f"**{escape(truncate(n, 80))}**" for n in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


async def find_speaker(quotes: QuotesRepository, guild_id: int, typed: str) -> str:
    """The speaker name (as stored) `typed` means among the people with quotes here, or a
    UserFacingError saying who it could be."""
    exact = await quotes.speaker_named(guild_id, typed)
    if exact is not None:
        return exact
    names = await quotes.speakers(guild_id, "", limit=MAX_SPEAKERS)
    found, candidates = pick_person(names, typed)
    if found is not None:
        return found
    shown = escape(truncate(" ".join(typed.split()), 80))
    if not candidates:
        raise UserFacingError(f"No quotes here are by {shown}. Pick a name from the "
                              "suggestions.")
    raise UserFacingError(f"“{shown}” could be {_listed([m.name for m in candidates])}. "
                          "Type more of the name, or pick one from the suggestions.")


async def speaker_choices(quotes: QuotesRepository, guild_id: int, typed: str,
                          limit: int) -> list[str]:
    """Autocomplete for `person:`: the people with quotes here that fit what is typed."""
    names = await quotes.speakers(guild_id, "", limit=MAX_SPEAKERS)
    return [m.name for m in rank_people(names, typed, limit)]
