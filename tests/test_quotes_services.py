"""The quotes services: schedule arithmetic (daylight saving included), search parsing,
near-duplicates, the rules a submission must meet and the search index's upkeep."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time

import pytest

from bot.core.errors import UserFacingError
from bot.quotes.duplicates import find_near_duplicate, index_terms, is_near_duplicate, similarity
from bot.quotes.models import DailyQuoteSchedule
from bot.quotes.schedule import (
    find_zone,
    next_occurrence,
    parse_local_time,
    plan_due,
    zone_choices,
)
from bot.quotes.search import literal_expression, search_quotes
from bot.quotes.store import COMPACT_AFTER_WRITES
from bot.quotes.submissions import clean_quote_text, clean_reason, clean_submission, submit_quote
from bot.quotes.upkeep import SearchIndexUpkeep
from bot.store import Store
from tests.conftest import add_canon_quotes

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
GUILD = 111


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---- times and zones ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("09:00", time(9)), ("9:30", time(9, 30)), ("21.05", time(21, 5)), ("7", time(7)),
    ("9pm", time(21)), ("12am", time(0)), ("12 PM", time(12)), ("9:30 a.m.", time(9, 30)),
])
def test_times_people_write_are_understood(text: str, expected: time) -> None:
    assert parse_local_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "12:60", "noon", "13pm", "", "9:5"])
def test_impossible_times_are_refused_with_the_format(text: str) -> None:
    with pytest.raises(UserFacingError, match="HH:MM"):
        parse_local_time(text)


def test_zones_by_name_in_any_case_and_suggestions() -> None:
    assert find_zone("europe/london").key == "Europe/London"
    assert find_zone("America/New York").key == "America/New_York"
    with pytest.raises(UserFacingError, match="Pick one of the suggestions"):
        find_zone("Mars/Olympus")
    with pytest.raises(UserFacingError):
        find_zone("/etc/passwd")
    assert zone_choices("london") == ["Europe/London"]
    assert zone_choices("new_y")[0] == "America/New_York"
    assert len(zone_choices("")) == 25
    assert all("/" in z or z == "UTC" for z in zone_choices("e"))


def test_next_occurrence_follows_the_local_clock_across_spring_forward() -> None:
    # London moves to BST at 01:00 UTC on 2026-03-29: 09:00 local is 09:00 UTC the day before
    # and 08:00 UTC that day.
    assert next_occurrence(utc(2026, 3, 27, 12), time(9), LONDON) == utc(2026, 3, 28, 9)
    assert next_occurrence(utc(2026, 3, 28, 9), time(9), LONDON) == utc(2026, 3, 29, 8)
    # 01:30 does not exist that night; it is read with the winter offset (= 02:30 BST).
    assert next_occurrence(utc(2026, 3, 28, 12), time(1, 30), LONDON) == utc(2026, 3, 29, 1, 30)


def test_next_occurrence_across_fall_back_uses_the_first_of_a_repeated_hour() -> None:
    # New York falls back on 2026-11-01 at 06:00 UTC: 01:30 happens twice; the first counts.
    assert next_occurrence(utc(2026, 10, 31, 12), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert next_occurrence(utc(2026, 11, 1, 5, 30), time(1, 30), NEW_YORK) == utc(2026, 11, 2,
                                                                                   6, 30)
    assert next_occurrence(utc(2026, 10, 31, 14), time(9), NEW_YORK) == utc(2026, 11, 1, 14)


def _schedule(next_due: datetime, last_posted: date | None = None,
              zone: str = "Europe/London") -> DailyQuoteSchedule:
    return DailyQuoteSchedule(GUILD, 5, "09:00", zone, next_due, last_posted)


def test_a_due_schedule_posts_once_for_the_day() -> None:
    due = utc(2026, 6, 1, 8)  # 09:00 BST
    plan = plan_due(_schedule(due), utc(2026, 6, 1, 8, 0, 30))
    assert plan.post and plan.day == date(2026, 6, 1) and plan.next_due == utc(2026, 6, 2, 8)
    already = plan_due(_schedule(due, last_posted=date(2026, 6, 1)), utc(2026, 6, 1, 8, 1))
    assert not already.post and already.next_due == utc(2026, 6, 2, 8)


def test_a_post_missed_while_down_is_made_later_the_same_day_only() -> None:
    due = utc(2026, 6, 1, 8)
    late_same_day = plan_due(_schedule(due), utc(2026, 6, 1, 22, 59))  # 23:59 BST
    assert late_same_day.post and late_same_day.day == date(2026, 6, 1)
    next_day_early = plan_due(_schedule(due), utc(2026, 6, 1, 23, 30))  # 00:30 BST on the 2nd
    assert not next_day_early.post and next_day_early.next_due == utc(2026, 6, 2, 8)
    # Down for days: only today's post is made, and only once today's time has come.
    days_later = plan_due(_schedule(due), utc(2026, 6, 4, 10))
    assert days_later.post and days_later.day == date(2026, 6, 4)


# ---- search -----------------------------------------------------------------------------------


def test_literal_expression_quotes_every_word() -> None:
    assert literal_expression('don\'t "stop') == '"don" "t" "stop"'
    assert literal_expression("***") is None


async def test_search_reads_syntax_and_falls_back_to_plain_words(seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    phrase = await search_quotes(quotes, GUILD, '"first kiss"')
    assert not phrase.literal and phrase.page.total == 1
    fallback = await search_quotes(quotes, GUILD, "There's a lot")
    assert fallback.literal
    assert fallback.page.hits[0].quote.key == "oseman-2022-queer-stories-trauma"
    unbalanced = await search_quotes(quotes, GUILD, '"chemistry')
    assert unbalanced.literal and unbalanced.page.total == 1


@pytest.mark.parametrize(("text", "message"), [
    ("   ", "Tell me what to look for"),
    ("*** ((", "no words in it"),
    ("word " * 60, "keep it under 200"),
])
async def test_searches_that_cannot_run_are_answered(seeded_store: Store, text: str,
                                                     message: str) -> None:
    with pytest.raises(UserFacingError, match=message):
        await search_quotes(seeded_store.quotes, GUILD, text)


async def test_a_page_past_the_end_shows_the_last(seeded_store: Store) -> None:
    result = await search_quotes(seeded_store.quotes, GUILD, "connor", page=9, per_page=2)
    assert result.page.page == 4 and len(result.page.hits) == 1  # 9 quotes by Kit Connor


# ---- near-duplicates ----------------------------------------------------------------------------


def test_similarity_ignores_case_punctuation_and_curly_quotes() -> None:
    assert similarity("There’s a lot on TV now!", "theres a lot on tv now") == 100
    assert is_near_duplicate("They did the scene that leads up to the first kiss.",
                             "They did the scene that leads up to the first kiss")
    assert not is_near_duplicate("I love this show", "I love this cast")
    assert index_terms("Élodie's CAFÉ") == {"elodie", "s", "cafe"}


async def test_near_duplicates_are_found_typos_and_excerpts_included(
        seeded_store: Store) -> None:
    quotes = seeded_store.quotes
    typo = await find_near_duplicate(
        quotes, GUILD, "we knew already that they were both really talented actors, but we had "
        "to know if the dynamic would work, if there was chemestry, and if they could carry the "
        "romance of Nick and Charlie. And they smashed it. It was just like Nick and Charlie had "
        "come to life in front of me")
    assert typo is not None and typo.key == "oseman-tudum-2022-04-chemistry"
    excerpt = await find_near_duplicate(
        quotes, GUILD, "And they smashed it. It was just like Nick and Charlie had come to life "
        "in front of me.")
    assert excerpt is not None and excerpt.key == "oseman-tudum-2022-04-chemistry"
    assert await find_near_duplicate(quotes, GUILD, "Rugby practice is on Thursday.") is None
    assert await find_near_duplicate(quotes, GUILD, "zzqx") is None


# ---- submissions --------------------------------------------------------------------------------


def test_quote_text_is_tidied() -> None:
    assert clean_quote_text('  "Hello   there"  ') == "Hello there"
    assert clean_quote_text('"A" and "B"') == '"A" and "B"'
    assert clean_quote_text("line one\r\n\r\n\r\n\r\nline two") == "line one\n\nline two"
    assert clean_quote_text("a\x01b\u200bc\x02d\u202ee") == "ab\u200bcde"  # controls, bidi


def test_limits_are_named() -> None:
    with pytest.raises(UserFacingError, match="at most 1,000 characters; this one has 1,001"):
        clean_submission("x" * 1001, "Someone", None)
    with pytest.raises(UserFacingError, match="at most 100 characters"):
        clean_submission("Fine quote", "n" * 101, None)
    with pytest.raises(UserFacingError, match="at most 300 characters"):
        clean_submission("Fine quote", "Someone", "s" * 301)
    with pytest.raises(UserFacingError, match="empty or too short"):
        clean_submission(" \x00 ", "Someone", None)
    with pytest.raises(UserFacingError, match="Say who said it"):
        clean_submission("Fine quote", "\u200b", None)
    with pytest.raises(UserFacingError, match="at most 300 characters"):
        clean_reason("r" * 301)
    draft = clean_submission("x" * 1000, "  Kit\nConnor ", "  ")
    assert (draft.speaker, draft.source) == ("Kit Connor", None)
    assert clean_reason("  ") is None


async def test_a_submission_is_attributed_to_a_known_person(seeded_store: Store) -> None:
    draft = clean_submission("A brand new line nobody has said before.", "olivia COLMAN",
                             "https://example.org/interview")
    submitted = await submit_quote(seeded_store.quotes, guild_id=GUILD, user_id=7, draft=draft)
    quote = submitted.submission.quote
    assert quote.speaker_name == "Olivia Colman" and quote.speaker is not None
    assert quote.speaker_plays == ("Sarah Nelson",)
    assert submitted.near_duplicate is None
    unknown = await submit_quote(seeded_store.quotes, guild_id=GUILD, user_id=7,
                                 draft=clean_submission("Another new line.", "A Fan", None))
    assert unknown.submission.quote.speaker is None
    assert unknown.submission.quote.speaker_name == "A Fan"


async def test_a_near_duplicate_submission_points_at_the_original(seeded_store: Store) -> None:
    draft = clean_submission("they did the scene that leads up to the first kiss",
                             "Alice Oseman", None)
    submitted = await submit_quote(seeded_store.quotes, guild_id=GUILD, user_id=7, draft=draft)
    assert submitted.near_duplicate is not None
    assert submitted.near_duplicate.key == "oseman-tudum-2022-04-first-kiss-scene"
    assert submitted.submission.near_duplicate_of == submitted.near_duplicate.id
    # A second copy now also matches the pending first one, but the canon quote stays the best.
    again = await submit_quote(seeded_store.quotes, guild_id=GUILD, user_id=8, draft=draft)
    assert again.near_duplicate is not None


# ---- search index upkeep --------------------------------------------------------------------


async def test_upkeep_compacts_a_grown_index_before_it_starts_its_rounds(
        seeded_store: Store) -> None:
    await add_canon_quotes(seeded_store, [f"Axolotl line {i}" for i in range(COMPACT_AFTER_WRITES)])
    upkeep = SearchIndexUpkeep(seeded_store.quotes)
    await upkeep.start()
    try:
        assert upkeep.running
        assert await seeded_store.database.fetch_value(
            "SELECT writes_since FROM search_index_upkeep") == 0
        assert await upkeep.run_once() == 0  # not due again until more writes pile up
    finally:
        await upkeep.stop()
    assert not upkeep.running
