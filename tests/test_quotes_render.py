"""The quote cards: attribution on every quote, spoilers, safe text and Discord's limits."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import discord

from bot.canon.models import Person, Source
from bot.core.formatting import EMBED_TOTAL_LIMIT
from bot.quotes.models import (
    DailyQuoteSchedule,
    Quote,
    QuoteSearchHit,
    QuoteSearchPage,
    QuoteSubmission,
)
from bot.quotes.render import (
    daily_embed,
    daily_status_text,
    highlighted,
    mine_embed,
    outcome_embed,
    quote_embed,
    review_embed,
    search_embed,
    speaker_line,
)
from bot.quotes.store import MATCH_END, MATCH_START

KIT = Person(1, "kit-connor", "Kit Connor", ("cast",))
ALICE = Person(2, "alice-oseman", "Alice Oseman", ("creator",))
NASTY = ("**bold** __under__ ~~gone~~ ||spoil|| `code` > quote [link](https://x.y) @everyone "
         "@here <@123> <@&456> <#789> \\")


def make_quote(text: str = "Words.", **overrides: object) -> Quote:
    values: dict[str, object] = dict(
        id=1, key="k", text=text, speaker_name="Kit Connor", speaker=KIT,
        outlet="Entertainment Weekly", said_on="2022-05", season=None, context=None,
        status="canon", guild_id=None, submitted_by=None, about=("Nick Nelson",),
        sources=(Source("ew", "EW", "ew.com", "https://ew.com/a(b)"),),
        speaker_plays=("Nick Nelson",),
    )
    values.update(overrides)
    return Quote(**values)  # type: ignore[arg-type]


def fields(embed: discord.Embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


def within_limits(embed: discord.Embed) -> bool:
    return (len(embed) <= EMBED_TOTAL_LIMIT and len(embed.description or "") <= 4096
            and all(len(f.name) <= 256 and len(f.value) <= 1024 for f in embed.fields)
            and len(embed.fields) <= 25 and len(embed.title or "") <= 256)


def test_a_quote_card_carries_speaker_role_outlet_month_and_source() -> None:
    embed = quote_embed(make_quote(), watched_season=None)
    assert embed.description == "“Words.”"
    got = fields(embed)
    assert got["Said by"] == "Kit Connor (plays Nick Nelson)"
    assert got["Where and when"] == "Entertainment Weekly · May 2022"
    assert got["Source"] == "[ew.com](https://ew.com/a%28b%29)"
    assert got["About"] == "Nick Nelson"
    creator = make_quote(speaker=ALICE, speaker_name="Alice Oseman", speaker_plays=(),
                         outlet=None, said_on=None, sources=())
    got = fields(quote_embed(creator, watched_season=None))
    assert got["Said by"] == "Alice Oseman (creator)"
    # Nothing known is left out rather than called "not recorded".
    assert "Where and when" not in got and "Source" not in got
    assert fields(quote_embed(make_quote(said_on=None), watched_season=None))[
        "Where and when"] == "Entertainment Weekly"


def test_a_quote_about_an_unwatched_season_is_a_spoiler() -> None:
    quote = make_quote(season=3)
    hidden = quote_embed(quote, watched_season=2)
    assert hidden.description == "||“Words.”||"
    assert "hidden as a spoiler" in fields(hidden)["About"]
    assert quote_embed(quote, watched_season=3).description == "“Words.”"
    assert quote_embed(quote, watched_season=None).description == "“Words.”"


def test_user_text_cannot_ping_or_break_markdown() -> None:
    quote = make_quote(NASTY, speaker=None, speaker_name="@everyone <@1>", speaker_plays=(),
                       sources=(), source_text="[click](https://evil) @here", status="approved",
                       submitted_by=42)
    embed = quote_embed(quote, watched_season=None)
    text = embed.description or ""
    assert "@everyone" not in text and "@here" not in text and "<@123>" not in text
    assert "\\*\\*bold\\*\\*" in text and "\\|\\|spoil\\|\\|" in text
    got = fields(embed)
    assert "@everyone" not in got["Said by"]
    assert "@here" not in got["Source"] and "](" not in got["Source"]  # no masked link
    assert "<@42>" in got["Source"]  # the submitter, shown (embeds never ping)


def test_the_longest_quote_full_of_markdown_fits_every_card() -> None:
    worst = ("*_" * 500)[:1000]
    quote = make_quote(worst, source_text="s" * 300, speaker_name="n" * 100, speaker=None,
                       speaker_plays=(), status="approved", submitted_by=1)
    for embed in (quote_embed(quote, watched_season=0, title="t" * 300, footer="f" * 3000),
                  daily_embed(quote, day=date(2026, 1, 1), watched_season=None),
                  review_embed(QuoteSubmission(quote, "2026-01-01T00:00:00Z", 3),
                               pending_count=2, duplicate=quote),
                  outcome_embed(QuoteSubmission(quote, "2026-01-01", reason="r" * 300), "g")):
        assert within_limits(embed)
    many = [QuoteSubmission(make_quote(worst, id=i, status="rejected"), "2026-01-01",
                            reason="*" * 300, dm_status="closed") for i in range(10)]
    assert within_limits(mine_embed(many, {"rejected": 10}))


def test_highlights_are_bold_and_the_rest_escaped() -> None:
    snippet = f"a *star* and {MATCH_START}first{MATCH_END} {MATCH_START}kiss{MATCH_END} @everyone"
    assert highlighted(snippet, 1024) == "a \\*star\\* and **first** **kiss** @\u200beveryone"
    joined = f"{MATCH_START}a{MATCH_END}{MATCH_START}b{MATCH_END}"
    assert highlighted(joined, 1024) == "**ab**"
    too_long = f"{MATCH_START}{'w' * 50}{MATCH_END} " * 30
    plain = highlighted(too_long, 200)
    assert len(plain) <= 200 and "**" not in plain


def test_search_page_fits_and_hides_spoilers() -> None:
    long_name = make_quote(NASTY * 3, season=3, speaker=None, speaker_plays=(),
                           speaker_name="*" * 100, outlet="_" * 200)
    hits = tuple(QuoteSearchHit(long_name, f"{MATCH_START}{NASTY}{MATCH_END} " * 12 + "|" * 999)
                 for _ in range(5))
    page = QuoteSearchPage(hits, total=1000, page=0, per_page=5, capped=True, ranked=False)
    embed = search_embed("@everyone " + "q" * 300, page, literal=True, help_text="help",
                         watched_season=1)
    assert within_limits(embed)
    assert all(f.value.startswith("||") for f in embed.fields)
    assert embed.footer.text == "Page 1 of 200+ · 1,000+ quotes · newest first"
    exact = search_embed("kit", QuoteSearchPage(hits, total=12, page=1, per_page=5),
                         literal=False, help_text="help", watched_season=None)
    assert exact.footer.text == "Page 2 of 3 · 12 quotes · best matches first"
    assert "plain text" in (embed.description or "")
    empty = search_embed("nothing", QuoteSearchPage((), 0, 0, 5), literal=False,
                         help_text="help", watched_season=None)
    assert "No quotes match" in (empty.description or "")
    gone = search_embed("kit", QuoteSearchPage((), 3, 4, 5), literal=False,
                        help_text="help", watched_season=None)
    assert "no page 5 any more" in (gone.description or "")
    assert "now match 3 quotes" in (gone.description or "")


def test_speaker_line_for_submitted_names() -> None:
    assert speaker_line(make_quote(speaker=None, speaker_name="A Fan", speaker_plays=())) == "A Fan"


def test_daily_status() -> None:
    assert "No quote of the day" in daily_status_text(None)
    schedule = DailyQuoteSchedule(1, 55, "09:00", "Europe/London",
                                  datetime(2026, 6, 1, 8, tzinfo=UTC), None, "no **access**")
    text = daily_status_text(schedule)
    assert "<#55>" in text and "09:00 (Europe/London)" in text
    assert f"<t:{int(datetime(2026, 6, 1, 8, tzinfo=UTC).timestamp())}:F>" in text
    assert "no \\*\\*access\\*\\*" in text
    assert "None has gone out yet." in text
    # Posted before the time of a post was kept (an upgraded database): the day is known.
    upgraded = dataclasses.replace(schedule, last_posted_on=date(2026, 5, 31))
    assert "The last one went out on Sunday 31 May 2026." in daily_status_text(upgraded)
