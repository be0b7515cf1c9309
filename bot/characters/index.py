"""An in-memory index of character names, aliases and actors' names.

Autocomplete has no defer and must answer in a few milliseconds, so lookups never touch the
database: the index is built once from the store and rebuilt when the canon changes. Matching is
case- and accent-insensitive: exact and prefix matches first (via bisect on sorted keys), then
rapidfuzz for typos.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from rapidfuzz import fuzz, process

from bot.store.models import Character

MAX_CHOICES = 25
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """'  Stéphane  NELSON ' -> 'stephane nelson'; apostrophes and dots dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _NON_WORD.sub("", stripped.casefold())).strip()


class Kind(IntEnum):
    """What a match was on; lower wins a tie."""

    NAME = 0
    ALIAS = 1
    ACTOR = 2


@dataclass(frozen=True, slots=True)
class Match:
    character: Character
    score: float
    matched: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class _Entry:
    text: str  # normalised
    original: str
    character_id: int
    kind: Kind


# Scores on one scale: an exact hit beats a prefix beats a word prefix beats a typo.
EXACT = 100.0
PREFIX = 96.0
WORD_PREFIX = 92.0
FUZZY_CAP = 89.0
FUZZY_CUTOFF = 55.0
# A typed name resolves on its own only when it is good and clearly ahead of the runner-up.
RESOLVE_SCORE = 80.0
RESOLVE_MARGIN = 6.0


class CharacterIndex:
    def __init__(self, characters: Iterable[Character] = ()) -> None:
        self._characters: dict[int, Character] = {}
        self._entries: list[_Entry] = []
        self._sorted: list[tuple[str, int]] = []  # (text, entry index), for prefix lookups
        self._words: list[tuple[str, int]] = []  # (word, entry index), for word prefixes
        self._texts: list[str] = []
        self.rebuild(characters)

    def rebuild(self, characters: Iterable[Character]) -> None:
        self._characters = {c.id: c for c in characters}
        entries: list[_Entry] = []
        for c in self._characters.values():
            entries.append(_Entry(normalise(c.name), c.name, c.id, Kind.NAME))
            entries.extend(_Entry(normalise(a), a, c.id, Kind.ALIAS) for a in c.aliases)
            if c.actor is not None:
                entries.append(_Entry(normalise(c.actor.name), c.actor.name, c.id, Kind.ACTOR))
        self._entries = [e for e in entries if e.text]
        self._texts = [e.text for e in self._entries]
        self._sorted = sorted((e.text, i) for i, e in enumerate(self._entries))
        self._words = sorted(
            (word, i) for i, e in enumerate(self._entries) for word in e.text.split(" ")[1:]
        )

    def __len__(self) -> int:
        return len(self._characters)

    @property
    def characters(self) -> list[Character]:
        return sorted(self._characters.values(), key=lambda c: c.name.casefold())

    def get(self, character_id: int) -> Character | None:
        return self._characters.get(character_id)

    @staticmethod
    def _prefixed(table: list[tuple[str, int]], query: str) -> Iterable[int]:
        start = bisect.bisect_left(table, (query, -1))
        for text, index in table[start:]:
            if not text.startswith(query):
                break
            yield index

    def search(self, query: str, limit: int = MAX_CHOICES) -> list[Match]:
        """The best distinct characters for `query`, best first (at most `limit`)."""
        q = normalise(query)
        if not q:
            return [Match(c, 0.0, c.name, Kind.NAME) for c in self.characters[:limit]]
        best: dict[int, tuple[float, int, _Entry]] = {}

        def offer(index: int, score: float) -> None:
            entry = self._entries[index]
            current = best.get(entry.character_id)
            if current is None or (score, -entry.kind) > (current[0], -current[2].kind):
                best[entry.character_id] = (score, index, entry)

        for index in self._prefixed(self._sorted, q):
            offer(index, EXACT if self._entries[index].text == q else PREFIX)
        if len(q) >= 2:
            for index in self._prefixed(self._words, q):
                offer(index, WORD_PREFIX)
        if len(best) < limit:
            for _, score, index in process.extract(
                q, self._texts, scorer=fuzz.WRatio, processor=None,
                score_cutoff=FUZZY_CUTOFF, limit=limit * 3,
            ):
                offer(index, min(float(score), FUZZY_CAP))
        ranked = sorted(
            best.values(),
            key=lambda item: (-item[0], item[2].kind, self._characters[item[2].character_id].name),
        )
        return [
            Match(self._characters[entry.character_id], score, entry.original, entry.kind)
            for score, _, entry in ranked[:limit]
        ]

    def resolve(self, query: str) -> tuple[Character | None, list[Match]]:
        """(the character, []) when the text clearly names one; else (None, candidates)."""
        matches = self.search(query, limit=5)
        if not matches or matches[0].score < FUZZY_CUTOFF:
            return None, []
        top = matches[0]
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        if top.score >= RESOLVE_SCORE and (
            top.score - runner_up >= RESOLVE_MARGIN
            or (top.score == EXACT and runner_up < EXACT)
        ):
            return top.character, []
        return None, matches
