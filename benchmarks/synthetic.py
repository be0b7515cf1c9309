"""Synthetic canon for growing a throwaway store to benchmark size.

Every generated record is obviously synthetic (keys start with `bench-`, names are made of
nonsense syllables, descriptions say so) and lives only in a temporary database that the
benchmark deletes: nothing here is ever shown to anyone or claims anything about the show.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

from bot.canon.seeding import SeedCharacter, SeedData, SeedPerson, SeedQuote

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "pa", "ri", "shu", "ten",
              "mar", "lin", "bo", "gra", "fe", "hol", "wen", "ju", "cor", "ael", "dy", "ost")
_OUTLETS = ("Outlet A", "Outlet B", "Outlet C", None)
KEY_PREFIX = "bench-"


def _name_part(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _full_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` distinct two-part names ("Kalomi Nerusa") not in `taken`."""
    names: set[str] = set()
    while len(names) < count:
        name = f"{_name_part(rng)} {_name_part(rng)}"
        if name not in taken:
            names.add(name)
    return sorted(names)


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    """Pseudo-words, to be drawn with Zipf-like weights (rank r has weight 1/r): a few very
    common words that most quotes contain and a long tail, as in real text."""
    words = sorted({"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
                    for _ in range(size * 2)})[:size]
    rng.shuffle(words)
    return words


@dataclass(frozen=True)
class SyntheticCanon:
    """Records to add on top of the real seed. `words` is the quote vocabulary, most common
    first, so searches can pick a common, a middling and a rare word."""

    people: tuple[SeedPerson, ...]
    characters: tuple[SeedCharacter, ...]
    quotes: tuple[SeedQuote, ...]
    words: tuple[str, ...]

    @property
    def character_names(self) -> list[str]:
        return [c.name for c in self.characters]


def synthesize(seed: SeedData, *, characters: int, quotes: int,
               seed_value: int = 7) -> SyntheticCanon:
    """Enough synthetic characters (each played by a synthetic actor, some with a nickname) and
    quotes (by anyone, about up to two characters, any season) to reach the totals asked."""
    rng = random.Random(seed_value)
    source = (seed.sources[0].key,)
    extra_characters = max(0, characters - len(seed.characters))
    extra_quotes = max(0, quotes - len(seed.quotes))
    taken = {c.name for c in seed.characters} | {p.name for p in seed.people}
    # About one actor per two characters: actors' names are in the character index too.
    people_names = _full_names(rng, max(1, extra_characters // 2), taken)
    people = tuple(
        SeedPerson(key=f"{KEY_PREFIX}person-{i}", name=name, roles=("cast",),
                   description="Synthetic benchmark person.", sources=source)
        for i, name in enumerate(people_names)
    )
    character_names = _full_names(rng, extra_characters, taken | set(people_names))
    synthetic_characters = tuple(
        SeedCharacter(
            key=f"{KEY_PREFIX}character-{i}", name=name,
            aliases=(name.split(" ")[0],) if rng.random() < 0.3 else (),
            actor=rng.choice(people).key,
            seasons=tuple(sorted(rng.sample((1, 2, 3), rng.randint(1, 3)))),
            in_film=rng.random() < 0.2, description="Synthetic benchmark character.", arcs={},
            school=None, school_detail=None, role="other", sources=source,
        )
        for i, name in enumerate(character_names)
    )
    speakers = [p.key for p in seed.people] + [p.key for p in people]
    about = [c.key for c in seed.characters] + [c.key for c in synthetic_characters]
    words = vocabulary(rng)
    # Precomputed: rng.choices would otherwise re-sum the 20,000 weights on every call.
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    synthetic_quotes = tuple(
        SeedQuote(
            key=f"{KEY_PREFIX}quote-{i}",
            text=" ".join(rng.choices(words, cum_weights=cumulative,
                                      k=rng.randint(8, 40))).capitalize() + ".",
            speaker=rng.choice(speakers), outlet=rng.choice(_OUTLETS), date="2024-01",
            season=rng.choice((None, 1, 2, 3)), about=tuple(rng.sample(about, rng.randint(0, 2))),
            context=None, sources=source,
        )
        for i in range(extra_quotes)
    )
    return SyntheticCanon(people, synthetic_characters, synthetic_quotes, tuple(words))
