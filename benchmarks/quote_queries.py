"""Measure the quotes queries alone on a large pool: `python -m benchmarks.quote_queries [COUNT]`.

Builds a throwaway database in a temporary folder: the real seed plus COUNT (default 100,000)
synthetic quotes spread over the seed's people, characters and seasons, loaded through the same
seeding path as real data. Then times each operation the commands use and prints the median and
worst of several runs. Not a test: timings depend on the machine. Unlike `make bench`, it calls
the store directly (no bot, no emulator), to show a query's own cost.

The synthetic quotes exist only in that temporary file; they are never shown to anyone.

The last lines are the costliest searches found: twenty one-letter prefixes (refused before the
database by the limits of bot/quotes/search.py: the figure is the refusal), three long prefixes
of the most common words (the worst search the limits let through) and the near-duplicate check
of a submission of common words only (stopped by the search budget of bot/quotes/store.py).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.canon.seeding import SeedQuote, load_seed
from bot.core.config import DEFAULT_SEED_DIR
from bot.core.errors import UserFacingError
from bot.quotes.duplicates import find_near_duplicate
from bot.quotes.models import QuoteFilter
from bot.quotes.rotation import QuoteRotation
from bot.quotes.search import search_quotes
from bot.store import Store

GUILD = 1
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "pa", "ri", "shu", "ten",
              "mar", "lin", "bo", "gra", "fe", "hol", "wen")


def _vocabulary(rng: random.Random, size: int = 20_000) -> tuple[list[str], list[float]]:
    """Pseudo-words with a Zipf-like frequency, as in real text: a few very common words that
    match most quotes, and a long tail that matches few. Most common first."""
    words = sorted({"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
                    for _ in range(size * 2)})[:size]
    rng.shuffle(words)
    return words, [1 / (rank + 1) for rank in range(len(words))]


def _synthetic(count: int, seed_data, words: list[str], weights: list[float],
               rng: random.Random) -> tuple[SeedQuote, ...]:
    people = [p.key for p in seed_data.people]
    characters = [c.key for c in seed_data.characters]
    sources = (seed_data.sources[0].key,)
    quotes = []
    for i in range(count):
        text = " ".join(rng.choices(words, weights, k=rng.randint(8, 40)))
        quotes.append(SeedQuote(
            key=f"bench-{i}", text=f"{text} {i}", speaker=rng.choice(people),
            outlet=rng.choice(("Outlet A", "Outlet B", None)), date="2024-01",
            season=rng.choice((None, 1, 2, 3)),
            about=tuple(rng.sample(characters, rng.randint(0, 2))), context=None,
            sources=sources,
        ))
    return tuple(quotes)


async def _time(label: str, runs: int, action: Callable[[], Awaitable[object]]) -> None:
    samples = []
    refused = 0
    for _ in range(runs):
        start = time.perf_counter()
        try:
            await action()
        except UserFacingError:  # a search refused or stopped: its cost is the refusal's
            refused += 1
        samples.append((time.perf_counter() - start) * 1000)
    note = f", {refused} refused" if refused else ""
    print(f"{label:<58} median {statistics.median(samples):7.2f} ms   "
          f"worst {max(samples):7.2f} ms   ({runs} runs{note})")


async def run(count: int, runs: int) -> None:
    rng = random.Random(7)
    seed = load_seed(DEFAULT_SEED_DIR)
    words, weights = _vocabulary(rng)
    big = dataclasses.replace(seed, quotes=seed.quotes + _synthetic(count, seed, words, weights,
                                                                    rng))
    with tempfile.TemporaryDirectory() as folder:
        async with await Store.open(Path(folder) / "bench.db") as store:
            start = time.perf_counter()
            await store.canon.apply_seed(big)
            print(f"loaded {len(big.quotes):,} quotes in {time.perf_counter() - start:.1f} s")
            quotes = store.quotes
            rotation = QuoteRotation(quotes, random.Random(1))
            characters = {c.name: c.id for c in await store.canon.characters()}
            nick = QuoteFilter(character_id=characters["Nick Nelson"])
            kit = QuoteFilter(person="Kit Connor")
            sparse = QuoteFilter(person="Kit Connor", character_id=characters["Nick Nelson"],
                                 season=3)
            print(f"pool: {await quotes.pool_size(GUILD):,}; about Nick: "
                  f"{await quotes.pool_size(GUILD, nick):,}; by Kit Connor: "
                  f"{await quotes.pool_size(GUILD, kit):,}; Kit+Nick+season 3: "
                  f"{await quotes.pool_size(GUILD, sparse):,}")

            await _time("draw, no filter", runs, lambda: rotation.next(GUILD))
            await _time("draw, by person", runs, lambda: rotation.next(GUILD, kit))
            await _time("draw, about a character", runs, lambda: rotation.next(GUILD, nick))
            await _time("draw, person + character + season", runs,
                        lambda: rotation.next(GUILD, sparse))
            # The slowest draw of a round is its last: everything else has been seen.
            size = await quotes.pool_size(GUILD, sparse)
            for _ in range(size - 1 - runs % size):
                await rotation.next(GUILD, sparse)
            await _time("draw, last of a round (person + character + season)", 1,
                        lambda: rotation.next(GUILD, sparse))
            await _time("autocomplete people", runs, lambda: quotes.speakers(GUILD, "o"))
            common, middling, rare = words[0], words[200], words[5000]
            await _time(f"search the most common word ({common!r})", runs,
                        lambda: search_quotes(quotes, GUILD, common))
            await _time(f"search two words ({middling!r} {rare!r})", runs,
                        lambda: search_quotes(quotes, GUILD, f"{middling} {rare}"))
            await _time(f"search a rare word ({rare!r})", runs,
                        lambda: search_quotes(quotes, GUILD, rare))
            prefix = rare[:3] + "*"
            await _time(f"search a prefix ({prefix!r})", runs,
                        lambda: search_quotes(quotes, GUILD, prefix))
            await _time("near-duplicate check of a submission", runs,
                        lambda: find_near_duplicate(quotes, GUILD, big.quotes[500].text))
            letters = " ".join(f"{letter}*" for letter in "abcdefghijklmnopqrst")
            await _time("search twenty one-letter prefixes ('a* b* ... t*')", runs,
                        lambda: search_quotes(quotes, GUILD, letters))
            long_prefixes = " ".join(f"{word[:5]}*" for word in words[:3])
            await _time(f"search long prefixes ({long_prefixes!r})", runs,
                        lambda: search_quotes(quotes, GUILD, long_prefixes))
            common_words = " ".join(words[:8])
            await _time("near-duplicate check of eight common words", runs,
                        lambda: find_near_duplicate(quotes, GUILD, common_words))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=100_000)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(run(args.count, args.runs))


if __name__ == "__main__":
    main()
