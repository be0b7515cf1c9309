"""What a search may cost: word limits before the database, a time budget in it, a per-member
cooldown. On real SQLite files, and end to end through the emulator. No test here asserts a
time: the budget is lowered where a test needs a search cut off."""

from __future__ import annotations

import asyncio
import random
import string

from bot.quotes.duplicates import find_near_duplicate
from bot.quotes.search import (
    MAX_PREFIXES,
    MAX_TERMS,
    OVER_BUDGET,
    search_quotes,
    search_terms,
)
from bot.quotes.store import SearchTooCostly
from bot.store import Store
from tests.conftest import Harness, add_canon_quotes

GUILD = 111
BIG = 10_000
SEARCH_GAP = 3  # seconds between one member's searches (cogs/quotes.py SEARCH_RATE)


def synthetic_texts(count: int = BIG) -> list[str]:
    """Quotes of pseudo-words starting with every letter, a few very common (Zipf-like)."""
    rng = random.Random(5)
    letters = string.ascii_lowercase
    vocabulary = ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9)))
                  for _ in range(3000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    return [" ".join(rng.choices(vocabulary, weights, k=14)) for _ in range(count)]


def _slow(quotes_store: Store) -> None:
    """A budget every real search overruns: on the loop's thread, where reads first run, none
    of more than a thousand steps; on the reader's, stopped at its second check, 100 steps in."""
    quotes_store.database.inline_read_steps = 0
    quotes_store.quotes.search_budget = quotes_store.quotes.duplicate_budget = 0.0
    quotes_store.quotes.search_check_steps = 100


# ---- reading what a search asks for -----------------------------------------------------------


def test_search_terms_count_words_and_prefixes_as_fts5_reads_them() -> None:
    assert search_terms("nick charlie") == search_terms('"nick charlie"')
    assert search_terms("nick charlie").words == 2
    assert search_terms("chemistry OR romance NOT kiss").words == 3
    assert search_terms("NEAR(nick charlie, 10)").words == 2  # the distance is no word
    assert search_terms("speaker_name: kit").words == 1  # a column name is no word
    assert search_terms('romanc* "first ki"* Élé*').prefixes == ("romanc", "ki", "ele")
    assert search_terms("a* b* c*").prefixes == ("a", "b", "c")


# ---- end to end ---------------------------------------------------------------------------------


async def search(harness: Harness, text: str, user: str = "member"):
    harness.emu.clock.advance(SEARCH_GAP)
    return await harness.emu.invoke("quote search", {"text": text}, user=user)


async def test_a_costly_search_is_refused_or_stopped_and_normal_ones_work(
        harness: Harness) -> None:
    await add_canon_quotes(harness.store, synthetic_texts())
    many = " ".join(f"{letter}*" for letter in "abcdefghijklmnopqrst")
    refused = await search(harness, many)
    assert refused.ephemeral and refused.message.allowed_mentions == {"parse": []}
    assert refused.content == (f"That search is too broad: it has 20 words; use at most "
                               f"{MAX_TERMS}, the ones that matter most.")
    short = await search(harness, "kiss a*")
    assert short.content == ("That search is too broad: `a*` could be almost any word. Give "
                             "at least 2 letters before a `*`.")
    prefixes = await search(harness, "ab* cd* ef* gh*")
    assert prefixes.content == (f"That search is too broad: at most {MAX_PREFIXES} words can "
                                "end in `*` (it has 4).")
    unreadable = await search(harness, "it's " * 9)  # words FTS5 cannot read count the same
    assert unreadable.content.startswith("That search is too broad: it has 18 words")

    for text in ("nick", '"first kiss"', "romanc*", "chemistry OR romance", "ab* OR cd* OR ef*"):
        found = await search(harness, text)
        assert found.errors == [] and found.embed is not None, text
        assert found.embed["title"].startswith("Quotes matching"), text

    _slow(harness.store)
    stopped = await search(harness, "ab* OR cd* OR ef*")
    assert stopped.ephemeral and stopped.content == OVER_BUDGET
    assert stopped.content.startswith("That search is too broad: ")
    # Reads outside a search never had the budget: /quote random still answers.
    assert (await harness.emu.invoke("quote random")).embed is not None


async def test_search_has_a_per_member_cooldown(harness: Harness) -> None:
    emu = harness.emu
    assert (await emu.invoke("quote search", {"text": "nick"})).embed is not None
    again = await emu.invoke("quote search", {"text": "charlie"})
    assert again.ephemeral and again.content == "Slow down a little: try again in 3 seconds."
    assert (await emu.invoke("quote search", {"text": "charlie"}, user="moderator")).embed
    emu.clock.advance(SEARCH_GAP)
    pages = await emu.invoke("quote search", {"text": "the"})
    assert pages.buttons == ["Previous", "Next"]
    # Previous / Next run the search again: 6 pages per 10 s.
    for label in ("Next", "Previous") * 3:
        assert (await emu.press(pages, label)).errors == []
    turned = await emu.press(pages, "Next")
    assert turned.ephemeral and turned.content.startswith("Slow down a little")


# ---- the budget, on the store -----------------------------------------------------------------


async def test_the_budget_stops_only_the_search(store: Store) -> None:
    await add_canon_quotes(store, synthetic_texts())
    quotes = store.quotes
    _slow(store)
    # Reads of other tasks, queued around the search's, each far more than 100 steps: none may
    # run while the search's progress handler is on.
    outcomes = await asyncio.gather(
        search_quotes(quotes, GUILD, "ab* OR cd* OR ef*"),
        *(quotes.pool_size(GUILD) for _ in range(20)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], Exception) and str(outcomes[0]) == OVER_BUDGET
    assert outcomes[1:] == [BIG] * 20
    assert await quotes.pool_size(GUILD) == BIG  # and it came off afterwards
    try:
        await quotes.search(GUILD, "ab* OR cd* OR ef*")
    except SearchTooCostly:
        pass
    else:
        raise AssertionError("the search was not stopped")
    quotes.search_budget = 60.0
    assert (await quotes.search(GUILD, "ab* OR cd* OR ef*")).total > 0


async def test_a_near_duplicate_check_over_budget_is_skipped(store: Store) -> None:
    texts = synthetic_texts()
    await add_canon_quotes(store, texts)
    copy = texts[123]
    found = await find_near_duplicate(store.quotes, GUILD, copy)
    assert found is not None and found.text == copy
    _slow(store)
    assert await find_near_duplicate(store.quotes, GUILD, copy) is None
