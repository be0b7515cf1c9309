"""An in-memory index of character names, aliases and actors' names.

Autocomplete has no defer and must answer in a few milliseconds, so lookups never touch the
database: the index is built once from the store and rebuilt when the canon changes. Matching is
case- and accent-insensitive: exact and prefix matches first (via bisect on sorted keys), then
rapidfuzz for typos (autocomplete offers those only once nothing matches as typed; a lookup that
is not clear-cut always weighs them).

A lookup answers with a card only when it is sure; otherwise it asks, offering the candidates
worth offering. A typo match must also be a near spelling letter by letter (`typo_confidence`):
WRatio finds `elle` inside `nellie` and scores it 80, but Nellie is not a misspelt Elle. Names
that share nothing with what was typed are not offered beside better ones (no Coach Singh among
the Springs), and a name that is no character's but is written on a card (Nellie, Nick's dog)
offers that card, never settling on it.

The typo pass scores with WRatio, which is too slow to run over every entry of a large canon
(about 30 ms for 20,000 entries), so it first picks candidates: the names containing a word close
to one of the typed words (plain edit-distance ratio), and only those are scored with WRatio.
Even the plain ratio over every distinct word takes about 0.5 ms a typed word at 10,000
characters, so `_Vocabulary` first rules out, by counting shared letters, the words that cannot
be close enough, and scores only the rest: the same picks, several times faster.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.canon.models import Character
from bot.core.cache import RecentlyUsed

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
    MENTION = 3  # a name the character's card mentions (Nellie, Nick's dog): never settles


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
# The close words are looked for above these bars in turn, the last being the cutoff: about two
# typed words in three have CANDIDATE_WORDS words at 70 or more, and the few words that could
# reach 70 are much quicker to find and score than those that could reach 60.
_WORD_BARS = (max(70.0, CANDIDATE_WORD_CUTOFF), CANDIDATE_WORD_CUTOFF)
# Room for rounding in rapidfuzz's scores and cutoffs: a word the letter count keeps out must
# score clearly below the bar, never a hair under it.
_BAR_SLACK = 0.01
# Picking a word out of a bitset costs about this many times what rapidfuzz takes to score it.
_PICK_COST = 3
# A typed name resolves on its own only when it is good and clearly ahead of the runner-up.
RESOLVE_SCORE = 80.0
# Queries up to this many characters have their answers kept (see _search).
SHORT_QUERY = 2
SHORT_ANSWERS_KEPT = 4096
# Longer queries: the answers to the most recent ones. Fans type the same names, keystroke by
# keystroke, so the next fan typing "charl" gets the answer the last one did.
LONG_ANSWERS_KEPT = 4096
# The close words of this many typed words are kept (see _Vocabulary.closest).
CLOSE_WORDS_KEPT = 4096
RESOLVE_MARGIN = 6.0
# A typo match settles a lookup on its own only when what was typed is this close to the name,
# letter by letter (OSA: one wrong, missing, extra or swapped letter is one edit), word by word:
# `charlei` is one edit from `charlie` (0.86) and settles; `nellie` is two from `elle` (0.67),
# a different name that merely contains it, so it is asked about. (WRatio alone scores the pair
# 80, as `elle` lies whole inside `nellie`.)
TYPO_CONFIDENCE = 0.75
# Candidates offered for an unclear lookup: at most this many, at least OFFER_SCORE, and none
# more than CANDIDATE_SPREAD below the best: names sharing nothing with what was typed (Coach
# Singh for `spring`) are not offered beside the Springs.
CANDIDATES = 5
OFFER_SCORE = 70.0
CANDIDATE_SPREAD = 15.0
# ... and a typo candidate at least this near a spelling of what was typed (see
# typo_confidence): `nelsen` offers the Nelsons, not Elle, whom WRatio finds inside it.
OFFER_CONFIDENCE = 0.6
# A name typed that is no character's but appears in a card's description (`Nellie`, Nick's
# dog; `Menorca`) offers that card, scored between a good typo and a weak one; a word on more
# than MENTION_MAX_CARDS cards (a school, a town) says too little to offer them.
MENTION = 85.0
MENTION_MAX_CARDS = 2
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_CAPITALISED = re.compile(r"[A-Za-z][\w'’-]*")
_POSSESSIVE = re.compile(r"['’]s$")


_ONE = re.compile("1")


def _bitset(positions: Iterable[int], size: int) -> int:
    """The set of `positions` (each below `size`) as an int whose binary digits, written out
    `size` long, have a 1 at each position: see `_Vocabulary._words_in` for the way back."""
    digits = bytearray(b"0" * size)
    for position in positions:
        digits[position] = ord("1")
    return int(digits, 2) if size else 0


def _add_one(counts: list[int], members: int) -> None:
    """Add 1 to the count of each member of `members`, in counts kept bit-sliced: counts[k]
    holds bit k of every word's count, so one addition is a few big-int operations however
    many words there are (ripple carry, as in an adder circuit)."""
    carry = members
    for k, digit in enumerate(counts):
        if not carry:
            return
        counts[k], carry = digit ^ carry, digit & carry
    if carry:
        counts.append(carry)


def _at_least(counts: list[int], needed: int, among: int) -> int:
    """The members of `among` whose bit-sliced count is at least `needed`: compared from the top
    bit down, as in a comparator circuit."""
    if needed >> len(counts):
        return 0  # more than the widest count can hold
    above, level = 0, among  # already above `needed`, equal to it so far
    for k in reversed(range(len(counts))):
        if needed >> k & 1:
            level &= counts[k]
        else:
            above |= level & counts[k]
            level ^= level & counts[k]  # level &= ~counts[k], but ~ makes a slow negative int
    return above | level


def _letters_needed(length: int, other: int, bar: float) -> int:
    """The fewest letters two words of these lengths must share for fuzz.ratio to reach `bar`:
    ratio = 200 * LCS / (length + other), and the LCS is at most the letters shared."""
    return math.ceil((bar - _BAR_SLACK) * (length + other) / 200)


class _Vocabulary:
    """The distinct words of the index, to find the ones closest to a typed word.

    A word can only reach a ratio bar if it shares enough letters with the typed word
    (`_letters_needed`), and counting shared letters for every word at once is cheap with
    bitsets: which words hold a letter at least n times is one int, a bit per word, so the count
    is a few dozen big-int operations whatever the number of words. Only the words that pass are
    scored: at 10,000 characters the count rules out more than 19 words in 20, and never one
    that could make the cut.
    """

    def __init__(self, words: list[str]) -> None:
        self._words = words
        # Word i is the i-th binary digit from the left of each bitset (see _bitset).
        holders: dict[tuple[str, int], list[int]] = {}
        lengths: dict[int, list[int]] = {}
        for i, word in enumerate(words):
            lengths.setdefault(len(word), []).append(i)
            for letter, times in Counter(word).items():
                for n in range(1, times + 1):
                    holders.setdefault((letter, n), []).append(i)
        self._holding = {key: _bitset(at, len(words)) for key, at in holders.items()}
        self._of_length = {length: _bitset(at, len(words)) for length, at in lengths.items()}
        self._needs: dict[tuple[int, float], list[tuple[int, list[int]]]] = {}
        # Autocomplete asks again on every keystroke, and only the last typed word changes:
        # the earlier words' answers are kept (per vocabulary, so a rebuild starts afresh).
        self.closest = functools.lru_cache(maxsize=CLOSE_WORDS_KEPT)(self._closest)

    def _closest(self, word: str) -> tuple[str, ...]:
        """What process.extract(word, words, scorer=fuzz.ratio, score_cutoff=
        CANDIDATE_WORD_CUTOFF, limit=CANDIDATE_WORDS) would pick, in its order.

        Tried with the highest bar first: once CANDIDATE_WORDS words reach a bar, every word
        that beats or ties the last of them reaches it too, so it is among those scored, and a
        lower bar could only add words that rank below."""
        counts = self._shared_letters(word)
        for bar in _WORD_BARS:
            found = process.extract(word, self._worth_scoring(word, counts, bar),
                                    scorer=fuzz.ratio, processor=None, score_cutoff=bar,
                                    limit=CANDIDATE_WORDS)
            if len(found) == CANDIDATE_WORDS:
                break
        return tuple(close for close, _, _ in found)

    def _worth_scoring(self, word: str, counts: list[int], bar: float) -> list[str]:
        """The words that could reach `bar`, or all of them when picking those out would cost
        more than scoring the rest too."""
        could = self._could_reach(word, counts, bar)
        if could.bit_count() * (_PICK_COST + 1) > len(self._words):
            return self._words
        return self._words_in(could)

    def _shared_letters(self, word: str) -> list[int]:
        """Per word, how many letters it shares with `word`, repeats included ("anna" and "nan"
        share 3), as bit-sliced counts (see _add_one)."""
        counts: list[int] = []
        for letter, times in Counter(word).items():
            for n in range(1, times + 1):
                _add_one(counts, self._holding.get((letter, n), 0))
        return counts

    def _could_reach(self, word: str, counts: list[int], bar: float) -> int:
        """The words sharing enough letters with `word` to reach `bar`."""
        could = 0
        for needed, lengths in self._by_letters_needed(len(word), bar):
            # Lengths needing as many letters are compared once, together: fewer steps.
            among = 0
            for length in lengths:
                among |= self._of_length[length]
            could |= _at_least(counts, needed, among)
        return could

    def _by_letters_needed(self, length: int, bar: float) -> list[tuple[int, list[int]]]:
        """(letters needed, the word lengths needing that many) for a typed word this long,
        over the lengths that can reach `bar` at all. Remembered, as it depends on the length
        only."""
        key = (length, bar)
        if key not in self._needs:
            of_need: dict[int, list[int]] = {}
            for other in self._of_length:
                needed = _letters_needed(length, other, bar)
                if needed <= min(length, other):
                    of_need.setdefault(needed, []).append(other)
            self._needs[key] = list(of_need.items())
        return self._needs[key]

    def _words_in(self, bits: int) -> list[str]:
        """The words of a bitset, in index order: process.extract breaks ties by position, so
        the order keeps its picks the same as over the whole list."""
        digits = f"{bits:0{len(self._words)}b}"
        return [self._words[match.start()] for match in _ONE.finditer(digits)]


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
        self._word_texts: dict[str, list[int]] = {}
        self._vocabulary = _Vocabulary([])  # the words of _word_texts
        self._mentions: dict[str, list[tuple[int, str]]] = {}
        # Bumped by each rebuild: what callers keep of the answers is keyed by it.
        self.generation = 0
        self.rebuild(characters)

    def rebuild(self, characters: Iterable[Character]) -> None:
        self.generation += 1
        self._characters = {c.id: c for c in characters}
        self._short_answers: dict[tuple[str, int, bool], list[Match]] = {}
        self._long_answers: RecentlyUsed[tuple[str, int, bool], list[Match]] = RecentlyUsed(
            LONG_ANSWERS_KEPT)
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
        self._vocabulary = _Vocabulary(list(self._word_texts))
        self._mentions = _mentions(self._characters.values(), set(self._word_texts))

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
        """The best distinct characters for `query`, best first (at most `limit`): those whose
        name, nickname or actor begins as typed (or has a word that does) while there are any,
        since that is what the fan is typing; typo suggestions once nothing matches as typed."""
        q = normalise(query)
        # The typo pass is most of autocomplete's cost (it scores hundreds of names with WRatio
        # on a whole first name plus the start of a surname), and while what is typed still
        # begins a name it would only pad the list with names the fan is not typing.
        return (self._search(q, limit, typos=False)
                or _worth_offering(q, self._search(q, limit, typos=True)))

    def _search(self, q: str, limit: int, *, typos: bool) -> list[Match]:
        key = (q, limit, typos)
        if len(q) > SHORT_QUERY:
            answer = self._long_answers.get(key)
            if answer is None:
                answer = self._rank(q, limit, typos=typos)
                self._long_answers.put(key, answer)
            return answer
        # A letter or two is what every fan types first, and the slowest to answer (thousands
        # of names share it at 10,000 characters); there are few such queries, so each answer
        # is kept until the next rebuild.
        found = self._short_answers.get(key)
        if found is None:
            found = self._rank(q, limit, typos=typos)
            if len(self._short_answers) < SHORT_ANSWERS_KEPT:  # any two characters can be typed
                self._short_answers[key] = found
        return found

    def _rank(self, q: str, limit: int, *, typos: bool) -> list[Match]:
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
            for t, score in self._typo_scores(q, limit * 3):
                self._offer(best, self._text_entries[t], min(score, FUZZY_CAP))
        ranked = heapq.nsmallest(limit, (
            (-score, self._entries[index].kind, self._name_rank[character_id], index)
            for character_id, (score, index) in best.items()
        ))
        return [
            Match(self._characters[entry.character_id], -neg_score, entry.original, entry.kind)
            for neg_score, _, _, index in ranked
            for entry in (self._entries[index],)
        ]

    def _typo_scores(self, q: str, limit: int) -> list[tuple[int, float]]:
        """The `limit` candidate texts closest to `q` by WRatio, best first, ties to the lower
        text number: (text, score)."""
        candidates = sorted(self._typo_candidates(q))
        # One extract call instead of a WRatio call per text halves the cost, and it breaks
        # ties by position, which the sort makes the text number.
        return [(candidates[i], score) for _, score, i in process.extract(
            q, [self._texts[t] for t in candidates], scorer=fuzz.WRatio, processor=None,
            score_cutoff=FUZZY_CUTOFF, limit=limit,
        )]

    def _typo_candidates(self, q: str) -> set[int]:
        """Distinct texts holding a word close to one of the words of `q`."""
        found: set[int] = set()
        for word in dict.fromkeys(q.split(" ")):
            for close in self._vocabulary.closest(word):
                found.update(self._word_texts[close])
        return found

    def resolve(self, query: str) -> tuple[Character | None, list[Match]]:
        """(the character, []) when the text clearly names one; else (None, the candidates
        worth offering, best first: possibly none)."""
        q = normalise(query)
        # A character clearly ahead on the name as typed settles it without the typo pass: typo
        # matches score at most FUZZY_CAP, so they could not take its place or come close enough
        # to make it ambiguous. (Most full names, first names and name beginnings end here.)
        typed = self._search(q, 2, typos=False)
        if typed:
            top = typed[0].score
            runner_up = max(typed[1].score if len(typed) > 1 else 0.0, FUZZY_CAP)
            if _clearly_ahead(top, runner_up):
                return typed[0].character, []
        return self._resolve_with_typos(q)

    def _resolve_with_typos(self, q: str) -> tuple[Character | None, list[Match]]:
        found = self._search(q, CANDIDATES, typos=True)
        mentioned = self._mentions.get(q)
        if mentioned:
            offered = {m.character.id for m in found}
            found = sorted(found + [Match(self._characters[cid], MENTION, word, Kind.MENTION)
                                    for cid, word in mentioned if cid not in offered],
                           key=lambda m: (-m.score, m.kind, self._name_rank[m.character.id]))
        matches = [m for m in _worth_offering(q, found) if m.score >= OFFER_SCORE]
        if not matches:
            return None, []
        top = matches[0]
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        # A typo match stands alone only when it is a near spelling of what was typed, not
        # merely a name that WRatio finds inside it.
        confident = top.score > FUZZY_CAP or _confidence(q, top) >= TYPO_CONFIDENCE
        if confident and top.kind is not Kind.MENTION and _clearly_ahead(top.score, runner_up):
            return top.character, []
        return None, matches


def _mentions(characters: Iterable[Character], names: set[str]
              ) -> dict[str, list[tuple[int, str]]]:
    """Capitalised words inside the cards' descriptions (not starting a sentence, not a word
    of any character's names), normalised -> (character id, the word as written)."""
    found: dict[str, dict[int, str]] = {}
    keys: dict[str, str] = {}  # the same words come up on many cards (schools, towns)
    for character in characters:
        for sentence in _SENTENCES.split(character.description or ""):
            for word in _CAPITALISED.findall(sentence)[1:]:
                if not word[:1].isupper():
                    continue
                word = _POSSESSIVE.sub("", word)
                key = keys.get(word)
                if key is None:
                    key = keys[word] = normalise(word)
                if key and key not in names:
                    found.setdefault(key, {}).setdefault(character.id, word)
    return {key: list(cards.items()) for key, cards in found.items()
            if len(cards) <= MENTION_MAX_CARDS}


def _clearly_ahead(top: float, runner_up: float) -> bool:
    return top >= RESOLVE_SCORE and (top - runner_up >= RESOLVE_MARGIN
                                     or (top == EXACT and runner_up < EXACT))


def _worth_offering(q: str, matches: list[Match]) -> list[Match]:
    """The best match, and those within CANDIDATE_SPREAD of it that are matches as typed or
    near spellings of `q`: when better ones exist, a far weaker or unrelated one (that WRatio
    merely finds inside what was typed) only adds noise."""
    if not matches:
        return matches
    best = matches[0].score
    return [m for m in matches if m.score == best or (
        m.score >= best - CANDIDATE_SPREAD
        and (m.score > FUZZY_CAP or _confidence(q, m) >= OFFER_CONFIDENCE))]


def _confidence(q: str, match: Match) -> float:
    """typo_confidence against whichever of the character's names is nearest."""
    character = match.character
    names = [character.name, *character.aliases]
    if character.actor is not None:
        names.append(character.actor.name)
    return max(typo_confidence(q, name) for name in names)


def typo_confidence(typed: str, name: str) -> float:
    """How near a spelling of `name` the text `typed` is, from 0 to 1, letter by letter (OSA
    similarity): each typed word against its closest word of the name (the last typed word
    may be the start of one), the weakest word counting; or the whole texts, spaces aside,
    when that is closer (`charliespring`)."""
    q, n = normalise(typed), normalise(name)
    if not q or not n:
        return 0.0
    names = n.split(" ")
    typed_words = q.split(" ")
    weakest = 1.0
    for i, word in enumerate(typed_words):
        last = i == len(typed_words) - 1
        best = 0.0
        for other in names:
            best = max(best, OSA.normalized_similarity(word, other))
            if last and len(word) < len(other):
                best = max(best, OSA.normalized_similarity(word, other[:len(word)]))
        weakest = min(weakest, best)
    whole = OSA.normalized_similarity(q.replace(" ", ""), n.replace(" ", ""))
    return max(weakest, whole)
