"""What /quote search accepts (words, "phrases", OR, -word / NOT word, word*), British and
American spellings alike, and a reply that says how a search was read when that differs from
how it was typed. Unit checks on the reading, then end to end through the emulator."""

from __future__ import annotations

import pytest

from bot.core.errors import UserFacingError
from bot.quotes.search import read
from bot.quotes.search_syntax import read_search
from tests.conftest import Harness

SEARCH_GAP = 3  # one search per 3 s per member


@pytest.mark.parametrize(("typed", "shown", "expression"), [
    ("chemistry NOT romance", "chemistry -romance", '(("chemistry")) NOT ("romance")'),
    ("chemistry -romance", "chemistry -romance", '(("chemistry")) NOT ("romance")'),
    ("chemistry OR romance kiss", "chemistry OR romance kiss",
     '("chemistry" OR "romance") AND ("kiss")'),
    ('"first kiss" romanc*', '"first kiss" romanc*', '("first kiss") AND ("romanc"*)'),
    ("favorite", "favorite", '(("favorite" OR "favourite"))'),
    ("colour*", "colour*", '(("colour"* OR "color"*))'),
    ('“my favourite episode”', '"my favourite episode"',
     '(("my favourite episode" OR "my favorite episode"))'),
])
def test_the_accepted_syntax_reads_as_typed(typed: str, shown: str, expression: str) -> None:
    reading = read_search(typed)
    assert reading.notes == []
    assert reading.shown() == shown
    assert reading.expression() == expression


@pytest.mark.parametrize(("typed", "shown", "note"), [
    ("^chemistry", "chemistry", "`^` has no meaning here"),
    ("(nick OR charlie)", "nick OR charlie", "`(` `)` have no meaning here"),
    ("kit:connor", '"kit connor"', "`:` has no meaning here"),
    ("chemistry OR", "chemistry", "`OR` needs a word or phrase on each side"),
    ("nick OR OR charlie", "nick charlie", "`OR` needs a word or phrase on each side"),
    ('"chemistry', 'chemistry', 'the `"` was not closed'),
    ('nick "first kiss', 'nick first kiss', 'the `"` was not closed, so I looked for its words'),
])
def test_anything_else_is_read_as_plain_words_and_said_so(typed: str, shown: str,
                                                          note: str) -> None:
    reading = read_search(typed)
    assert reading.shown() == shown
    assert any(n.startswith(note) for n in reading.notes), reading.notes


@pytest.mark.parametrize(("typed", "message"), [
    ("OR OR", "it has no words in it (`OR` needs a word"),
    ("-romance", "Tell me what to look for as well: `-romance` only says what to leave out"),
    ("NOT", "it has no words in it (`NOT` needs"),
    ("ab* cd* ef* gh*", "at most 3 words can end in `*`"),
    ("colour* a*", "`a*` could be almost any word"),
])
def test_searches_with_nothing_to_look_for_or_too_broad_are_refused(typed: str,
                                                                     message: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        read(typed)
    assert message in str(caught.value)
    assert "special" not in str(caught.value)


# ---- end to end ---------------------------------------------------------------------------------


async def search(harness: Harness, text: str):
    harness.emu.clock.advance(SEARCH_GAP)
    return await harness.emu.invoke("quote search", {"text": text})


def hit_texts(result) -> list[str]:
    return [f["value"] for f in result.embed.get("fields") or []]


async def test_search_syntax_end_to_end(harness: Harness) -> None:
    caret = await search(harness, "^chemistry")
    assert caret.errors == [] and caret.embed is not None
    assert caret.embed["description"].startswith("Read as: “chemistry” (`^` has no meaning")
    assert hit_texts(caret) and all("chemistry" in t.casefold() for t in hit_texts(caret))

    both = await search(harness, "chemistry")
    expected = [t for t in hit_texts(both) if "romance" not in t.casefold()]
    assert len(expected) < len(hit_texts(both))  # the seed has a quote with both words
    without = await search(harness, "chemistry NOT romance")
    assert hit_texts(without) == expected
    dash = await search(harness, "chemistry -romance")
    assert hit_texts(dash) == expected
    if not expected:  # nothing left: the reply says the words did match before leaving out
        left = len(hit_texts(both))
        assert without.embed["description"].startswith(
            f"{left} quote{'s' if left > 1 else ''} matched but w")
        assert "left out by \\-romance." in without.embed["description"]
    else:
        assert "Read as" not in (without.embed.get("description") or "")

    nothing = await search(harness, "OR OR")
    assert nothing.ephemeral and "no words in it" in nothing.content
    assert "special" not in nothing.content
    only_out = await search(harness, "-romance")
    assert "only says what to leave out" in only_out.content


async def test_british_and_american_spellings_find_each_other(harness: Harness) -> None:
    american = await search(harness, "favorite episode")
    assert any("**favourite** **episode**" in t for t in hit_texts(american))
    assert "Also searched for the other spelling: favourite." in american.embed["description"]
    british = await search(harness, '"my favourite episode"')
    assert any("my favourite episode" in t.replace("**", "") for t in hit_texts(british))
    phrase_us = await search(harness, '"my favorite episode"')
    assert hit_texts(phrase_us) == hit_texts(british)
