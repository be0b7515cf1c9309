"""An in-memory index of character names, aliases and actors' names.

Autocomplete has no defer and must answer in a few milliseconds, so lookups never touch the
database: the index is built once from the store and rebuilt when the canon changes. Matching is
case- and accent-insensitive: exact and prefix matches first (via bisect on sorted keys), then
rapidfuzz for typos.

The typo pass scores with WRatio, which is too slow to run over every entry of a large canon
(about 30 ms for 20,000 entries), so it first picks candidates cheaply: the names containing a
word close to one of the typed words (plain edit-distance ratio over the distinct words, about
1 ms), and only those are scored with WRatio.
"""

from __future__ import annotations

import bisect
import heapq
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
_LAST_CHAR = "\U0010ffff"  # sorts after any character a key can hold: q + it bounds q's prefixes


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
# Typo candidates: the words closest to each typed word (fuzz.ratio at least this), at most this
# many per typed word, so a one- or two-letter word cannot pull in half the index.
CANDIDATE_WORD_CUTOFF = 60.0
CANDIDATE_WORDS = 30
# A typed name resolves on its own only when it is good and clearly ahead of the runner-up.
RESOLVE_SCORE = 80.0
RESOLVE_MARGIN = 6.0


class CharacterIndex:
    def __init__(self, characters: Iterable[Character] = ()) -> None:
        self._characters: dict[int, Character] = {}
        self._entries: list[_Entry] = []
        self._by_name: list[Character] = []  # A to Z, ignoring case
        self._name_rank: dict[int, int] = {}  # character id -> place in the final tie-break
        # Prefix lookups: sorted keys with the entry index of each, side by side.
        self._prefix_keys: list[str] = []
        self._prefix_entries: list[int] = []
        self._word_keys: list[str] = []  # every word but the first of each entry
        self._word_entries: list[int] = []
        # Typo pass: distinct entry texts, the entries behind each, which texts hold a word.
        self._texts: list[str] = []
        self._text_entries: list[list[int]] = []
        self._word_list: list[str] = []
        self._word_texts: dict[str, list[int]] = {}
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
        self._by_name = sorted(self._characters.values(), key=lambda c: c.name.casefold())
        self._name_rank = {c.id: rank for rank, c in enumerate(
            sorted(self._characters.values(), key=lambda c: c.name))}
        prefixes = sorted((e.text, i) for i, e in enumerate(self._entries))
        self._prefix_keys = [text for text, _ in prefixes]
        self._prefix_entries = [i for _, i in prefixes]
        words = sorted((word, i) for i, e in enumerate(self._entries)
                       for word in e.text.split(" ")[1:])
        self._word_keys = [word for word, _ in words]
        self._word_entries = [i for _, i in words]
        text_ids: dict[str, int] = {}
        self._text_entries = []
        for i, e in enumerate(self._entries):
            if e.text not in text_ids:
                text_ids[e.text] = len(text_ids)
                self._text_entries.append([])
            self._text_entries[text_ids[e.text]].append(i)
        self._texts = list(text_ids)
        self._word_texts = {}
        for text, t in text_ids.items():
            for word in dict.fromkeys(text.split(" ")):
                self._word_texts.setdefault(word, []).append(t)
        self._word_list = list(self._word_texts)

    def __len__(self) -> int:
        return len(self._characters)

    @property
    def characters(self) -> list[Character]:
        return list(self._by_name)

    def get(self, character_id: int) -> Character | None:
        return self._characters.get(character_id)

    def named(self, text: str) -> Character | None:
        """The character whose name or nickname is `text` (ignoring case, accents and
        punctuation); the first by name when several share it."""
        q = normalise(text)
        keys = self._prefix_keys
        for position in range(bisect.bisect_left(keys, q), bisect.bisect_right(keys, q)):
            entry = self._entries[self._prefix_entries[position]]
            if entry.kind is not Kind.ACTOR:
                return self._characters[entry.character_id]
        return None

    def _offer(self, best: dict[int, tuple[float, int]], indexes: Iterable[int],
               score: float) -> None:
        """Keep, per character, its best entry: higher score first, then name over alias over
        actor (the first offered wins a full tie)."""
        entries = self._entries
        for index in indexes:
            entry = entries[index]
            current = best.get(entry.character_id)
            if current is None or (score, -entry.kind) > (current[0],
                                                          -entries[current[1]].kind):
                best[entry.character_id] = (score, index)

    def search(self, query: str, limit: int = MAX_CHOICES) -> list[Match]:
        """The best distinct characters for `query`, best first (at most `limit`)."""
        return self._search(normalise(query), limit, typos=True)

    def _search(self, q: str, limit: int, *, typos: bool) -> list[Match]:
        if not q:
            return [Match(c, 0.0, c.name, Kind.NAME) for c in self._by_name[:limit]]
        best: dict[int, tuple[float, int]] = {}
        keys, end = self._prefix_keys, q + _LAST_CHAR
        start, after_exact = bisect.bisect_left(keys, q), bisect.bisect_right(keys, q)
        stop = bisect.bisect_left(keys, end, after_exact)
        self._offer(best, self._prefix_entries[start:after_exact], EXACT)
        self._offer(best, self._prefix_entries[after_exact:stop], PREFIX)
        # Once `limit` characters match by prefix, weaker matches cannot reach the top.
        if len(q) >= 2 and len(best) < limit:
            words = self._word_keys
            first = bisect.bisect_left(words, q)
            self._offer(best, self._word_entries[first:bisect.bisect_left(words, end, first)],
                        WORD_PREFIX)
        if typos and len(best) < limit:
            scored = []
            for t in self._typo_candidates(q):
                score = fuzz.WRatio(q, self._texts[t], processor=None, score_cutoff=FUZZY_CUTOFF)
                if score:
                    scored.append((score, -t))
            for score, t in heapq.nlargest(limit * 3, scored):
                self._offer(best, self._text_entries[-t], min(float(score), FUZZY_CAP))
        ranked = heapq.nsmallest(limit, (
            (-score, self._entries[index].kind, self._name_rank[character_id], index)
            for character_id, (score, index) in best.items()
        ))
        return [
            Match(self._characters[entry.character_id], -neg_score, entry.original, entry.kind)
            for neg_score, _, _, index in ranked
            for entry in (self._entries[index],)
        ]

    def _typo_candidates(self, q: str) -> set[int]:
        """Distinct texts holding a word close to one of the words of `q`."""
        found: set[int] = set()
        for word in dict.fromkeys(q.split(" ")):
            for close, _, _ in process.extract(
                word, self._word_list, scorer=fuzz.ratio, processor=None,
                score_cutoff=CANDIDATE_WORD_CUTOFF, limit=CANDIDATE_WORDS,
            ):
                found.update(self._word_texts[close])
        return found

    def resolve(self, query: str) -> tuple[Character | None, list[Match]]:
        """(the character, []) when the text clearly names one; else (None, candidates)."""
        q = normalise(query)
        # One character named exactly settles it without the typo pass: typo matches score
        # below EXACT, so they could not change the answer.
        exact = self._search(q, 2, typos=False)
        if exact and exact[0].score == EXACT and (len(exact) < 2 or exact[1].score < EXACT):
            return exact[0].character, []
        matches = self._search(q, 5, typos=True)
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
