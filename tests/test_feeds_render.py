"""Feed replies within Discord's limits, with feed text unable to format, ping or break out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord

from bot.feeds.ingest import IngestReport
from bot.feeds.models import Feed, HeldEntry
from bot.feeds.poller import AddResult
from bot.feeds.render import (
    code,
    feed_add_failed_text,
    feed_added_text,
    feed_choice_name,
    feed_disabled_notice,
    feed_removed_text,
    feeds_embed,
    held_embed,
    review_outcome_text,
)
from bot.feeds.review import ReviewOutcome

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# As ingestion leaves it: masked-link syntax is defused there (see bot/feeds/text.py).
HOSTILE = "@everyone <@123> **bold** `tick` ||spoil|| [x]\u200b(https://evil.example) "


def make_feed(n: int = 1, **changes: object) -> Feed:
    values: dict[str, object] = {
        "id": n, "url": f"https://fans.example.org/{n}/feed.xml", "title": "Example Fan Site",
        "keywords": (), "review": False, "state": "active", "primed": True,
        "next_fetch_at": NOW, "created_at": NOW}
    values.update(changes)
    return Feed(**values)  # type: ignore[arg-type]


def held(**changes: object) -> HeldEntry:
    values: dict[str, object] = {
        "id": 1, "feed_id": 1, "feed_url": "https://fans.example.org/feed.xml",
        "feed_title": "Example Fan Site", "dedupe_key": "k", "title": "A story",
        "body": "Some words.", "url": "https://fans.example.org/s/1", "published": "2026-11-24",
        "link_key": None, "title_key": None, "state": "pending", "created_at": NOW}
    values.update(changes)
    return HeldEntry(**values)  # type: ignore[arg-type]


def embed_size(embed: discord.Embed) -> int:
    return len(embed)


def test_added_text_says_what_the_first_fetch_found() -> None:
    first = AddResult(make_feed(keywords=("Heartstopper", "Alice Oseman")),
                      IngestReport(baseline=12), reenabled=False, existed=False)
    text = feed_added_text(first)
    assert text.startswith("Now following **Example Fan Site**")
    assert "recorded 12 existing entries; new ones will be posted" in text
    assert "**Heartstopper** or **Alice Oseman**" in text
    review = AddResult(make_feed(review=True), IngestReport(baseline=1), reenabled=True,
                       existed=True)
    assert "Following again" in feed_added_text(review)
    assert "1 existing entry; new ones will wait for review" in feed_added_text(review)
    empty = AddResult(make_feed(), IngestReport(), reenabled=False, existed=False)
    assert "no entries yet" in feed_added_text(empty)
    update = AddResult(make_feed(), IngestReport(posted=[4, 5], known=3), reenabled=False,
                       existed=True)
    assert "Updated" in feed_added_text(update) and "posted 2 new entries" in (
        feed_added_text(update))


def test_feed_text_is_escaped_everywhere() -> None:
    feed = make_feed(title=HOSTILE * 20, url="https://x.example/`@everyone`",
                     keywords=(HOSTILE[:50],), last_error=HOSTILE, failures=2)
    texts = [feed_added_text(AddResult(feed, IngestReport(baseline=1), reenabled=False,
                                       existed=False)),
             feed_removed_text(feed, 3), feed_disabled_notice(feed),
             feed_add_failed_text(feed.url, HOSTILE * 50),
             feeds_embed([feed]).description or ""]
    for text in texts:
        assert "@everyone" not in text.replace("@\u200beveryone", "")
        assert "<@123>" not in text and "**bold**" not in text
        assert len(text) <= 2000
    assert code("a`b") == "`aˋb`"


def test_the_feed_list_fits_one_embed_however_many_feeds() -> None:
    feeds = [make_feed(n, title="T" * 300, url="https://fans.example.org/" + "p" * 900,
                       keywords=tuple(f"word{i}" * 5 for i in range(10)), failures=3,
                       last_error="E" * 500, last_fetch_at=NOW, last_new_at=NOW - timedelta(1))
             for n in range(200)]
    embed = feeds_embed(feeds)
    assert len(embed.description or "") <= 4096 and embed_size(embed) <= 6000
    assert "more feeds" in (embed.description or "")
    assert feeds_embed([]).description.startswith("No feeds yet")  # type: ignore[union-attr]
    disabled = feeds_embed([make_feed(state="disabled", disabled_reason="10 failed fetches")])
    assert "**disabled**" in (disabled.description or "") and "1 disabled" in (
        disabled.footer.text or "")


def test_choices_and_held_entries_respect_limits() -> None:
    name = feed_choice_name(make_feed(title="x" * 500, state="disabled"))
    assert len(name) <= 100 and name.endswith("(disabled)")
    embed = held_embed(held(title=HOSTILE * 30, body=HOSTILE * 400,
                            url="https://fans.example.org/" + "a" * 480,
                            feed_title=HOSTILE * 10), pending=3)
    assert len(embed.title or "") <= 256 and len(embed.description or "") <= 4096
    assert embed_size(embed) <= 6000 and all(len(f.value or "") <= 1024 for f in embed.fields)
    assert "3 waiting for review" in (embed.footer.text or "")
    assert "<@123>" not in (embed.description or "")


def test_review_outcomes_read_well() -> None:
    entry = held(title="A **story**")
    assert review_outcome_text(ReviewOutcome(entry, "posted", 4, 3)) == (
        r"Posted **A \*\*story\*\***: on its way to 3 subscribed channels.")
    assert "already news (item #9)" in review_outcome_text(ReviewOutcome(entry, "duplicate", 9))
    assert "another owner" in review_outcome_text(ReviewOutcome(entry, "decided"))
