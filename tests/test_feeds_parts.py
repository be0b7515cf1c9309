"""The pure parts of feed ingestion: addresses, text cleaning, identities, keywords, parsing."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.formatting import escape
from bot.feeds.dedupe import identify, normalise_words, title_key
from bot.feeds.fetcher import acceptable_content_type
from bot.feeds.filters import KeywordError, mentions_any, parse_keywords
from bot.feeds.parser import FeedEntry, FeedParseError, parse_feed
from bot.feeds.text import html_to_text, one_line
from bot.feeds.timing import FeedTiming, feed_backoff
from bot.feeds.urls import FeedUrlError, check_feed_url, link_key, public_link
from tests.feeds_server import fixture, rss

BASE = "https://fans.example.org/feed.xml"


# ---- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://Fans.Example.org/feed", "https://fans.example.org/feed"),
    ("  HTTP://fans.example.org:80/feed?x=1#top ", "http://fans.example.org/feed?x=1"),
    ("https://fans.example.org", "https://fans.example.org/"),
    ("http://127.0.0.1:8080/rss", "http://127.0.0.1:8080/rss"),
])
def test_feed_urls_are_cleaned(raw: str, expected: str) -> None:
    assert check_feed_url(raw) == expected


@pytest.mark.parametrize(("raw", "why"), [
    ("ftp://fans.example.org/feed", "only http"),
    ("file:///etc/passwd", "only http"),
    ("javascript:alert(1)", "only http"),
    ("https://user:secret@fans.example.org/feed", "user name or password"),
    ("https://fans.example.org/a feed", "spaces"),
    ("https:///feed", "no host"),
    ("https://fans.example.org:99999/feed", "not a valid URL"),
    ("", "empty"),
    ("https://fans.example.org/" + "a" * 1100, "longer than"),
])
def test_bad_feed_urls_say_why(raw: str, why: str) -> None:
    with pytest.raises(FeedUrlError, match=why):
        check_feed_url(raw)


def test_only_safe_links_reach_a_post() -> None:
    assert public_link("https://fans.example.org/a b") == "https://fans.example.org/a%20b"
    assert public_link("https://fans.example.org/x?a=1&b=2") == (
        "https://fans.example.org/x?a=1&b=2")
    for bad in ("javascript:alert(1)", "data:text/html,hi", "mailto:a@b.c", "//no-scheme",
                "https://u:p@fans.example.org/", "https://fans.example.org/" + "a" * 600, None,
                ""):
        assert public_link(bad) is None, bad


def test_one_story_link_has_one_key() -> None:
    key = link_key("https://fans.example.org/stories/5")
    same = ["http://www.fans.example.org/stories/5/",
            "https://FANS.example.org:443/stories/5?utm_source=rss&utm_medium=feed",
            "https://fans.example.org/stories/5?fbclid=abc#comments"]
    assert all(link_key(u) == key for u in same)
    assert link_key("https://fans.example.org/stories/6") != key
    assert link_key("https://fans.example.org/s?id=1&page=2") == link_key(
        "https://fans.example.org/s?page=2&id=1")
    assert link_key("https://fans.example.org/s?id=1") != link_key(
        "https://fans.example.org/s?id=2")
    assert link_key("javascript:x") is None and link_key(None) is None


# ---- text -----------------------------------------------------------------------------------


def test_html_becomes_plain_text() -> None:
    html = ("<p>Hello <b>there</b> &amp; welcome&nbsp;back.</p><script>alert('x')</script>"
            "<style>p{}</style><p>Second<br/>line</p><!-- hidden -->")
    assert html_to_text(html) == "Hello there & welcome back.\n\nSecond\nline"
    assert html_to_text("a < b and c > d") == "a < b and c > d"
    # A bidi override goes; a zero-width space (Thai and Khmer text use it) stays.
    assert html_to_text("x\u202ey\u200bz") == "xy\u200bz"


def test_feed_text_cannot_carry_a_masked_link() -> None:
    text = html_to_text("[a](https://a.example) [phish](https://evil.example) [b](https://b.example)")
    assert "](" not in text
    escaped = escape(text)
    assert "**" not in escape(text + " **bold** " + text).replace("\\*\\*", "")
    assert "[phish]\u200b(https://evil.example)" in escaped


def test_text_is_capped_on_a_word() -> None:
    text = html_to_text("<p>" + "word " * 1000 + "</p>", 50)
    assert len(text) <= 50 and text.endswith("…") and "wor…" not in text
    assert html_to_text("<div>" * 5000 + "deep" + "</div>" * 5000) == "deep"
    assert one_line("a\n\nb   c", 10) == "a b c"


# ---- identities -----------------------------------------------------------------------------


def entry(title: str = "A story about nothing", *, guid: str | None = None,
          link: str | None = None, summary: str = "", published: date | None = None
          ) -> FeedEntry:
    return FeedEntry(guid=guid, link=link, title=title, summary=summary, published=published)


def test_entries_are_known_by_guid_then_link_then_title_and_date() -> None:
    with_both, link_only, bare = identify(1, [
        entry(guid="g1", link="https://x.example/1"),
        entry(link="https://x.example/2"),
        entry(published=date(2026, 1, 1)),
    ])
    assert [k.split(":")[0] for k in with_both.keys] == ["guid", "link", "hash"]
    assert [k.split(":")[0] for k in with_both.match_keys] == ["guid", "link"]
    assert [k.split(":")[0] for k in link_only.match_keys] == ["link"]
    assert [k.split(":")[0] for k in bare.match_keys] == ["hash"]
    # The news item key follows the link, so two feeds with the same link share it.
    [other_feed] = identify(2, [entry(guid="zzz", link="https://www.x.example/1/")])
    assert other_feed.dedupe_key == with_both.dedupe_key
    assert identify(2, [entry(published=date(2026, 1, 1))])[0].dedupe_key != bare.dedupe_key


def test_a_link_shared_by_many_entries_identifies_none() -> None:
    first, second = identify(1, [entry("One story here", guid="a", link="https://x.example/"),
                                 entry("Another story here", guid="b",
                                       link="https://x.example/")])
    assert first.link_key is None and second.link_key is None
    assert first.dedupe_key != second.dedupe_key


def test_headline_keys_ignore_case_accents_and_punctuation() -> None:
    assert title_key("Heartstopper’s FAN café — opens!") == title_key(
        "heartstopper s fan cafe opens")
    assert title_key("News") is None and title_key("Update 3") is None
    assert normalise_words("#Heartstopper_Fans!!") == "heartstopper fans"


# ---- keywords -------------------------------------------------------------------------------


def test_keywords_are_parsed_and_checked() -> None:
    assert parse_keywords(" Heartstopper,  Alice   Oseman ,heartstopper,, ") == (
        "Heartstopper", "Alice Oseman")
    assert parse_keywords(None) == () and parse_keywords("  ") == ()
    with pytest.raises(KeywordError, match="no letters"):
        parse_keywords("!!!")
    with pytest.raises(KeywordError, match="at most 10"):
        parse_keywords(",".join(f"word{i}" for i in range(11)))
    with pytest.raises(KeywordError, match="longer than"):
        parse_keywords("x" * 51)


def test_an_entry_must_mention_a_keyword_as_whole_words() -> None:
    words = ("Heartstopper", "Alice Oseman")
    assert mentions_any(entry("HEARTSTOPPER: a meetup"), words)
    assert mentions_any(entry("A meetup", summary="Tagged #heartstopper."), words)
    assert mentions_any(entry("Heartstopper’s new book"), words)
    assert mentions_any(entry("An interview with alice oseman"), words)
    assert not mentions_any(entry("Heartstoppers everywhere"), words)
    assert not mentions_any(entry("Alice in the garden"), words)
    assert mentions_any(entry("Anything at all"), ())


# ---- parsing --------------------------------------------------------------------------------


def test_rss_fixture_parses_to_plain_entries() -> None:
    feed = parse_feed(fixture("rss_second.xml"), url=BASE, content_type="application/rss+xml")
    assert feed.title == "Example Fan Site" and len(feed.entries) == 4
    newest = feed.entries[0]
    assert newest.guid == "fans-5" and newest.published == date(2026, 11, 25)
    assert newest.link == "https://fans.example.org/stories/5?utm_source=rss&utm_medium=feed"
    assert newest.summary == "The fifth test story, with a link."
    assert feed.entries[2].summary == "The third test story."


def test_atom_fixture_resolves_links_and_strips_html_titles() -> None:
    feed = parse_feed(fixture("atom_second.xml"), url="https://desk.example.net/feeds/atom",
                      content_type="application/atom+xml")
    newest, story_b, _ = feed.entries
    assert newest.link == "https://desk.example.net/tag/heartstopper/c"
    assert newest.title == "Desk story C @everyone bold **stars**"
    assert newest.summary == "Hello <@123456789012345678> and @here.\n\nSecond paragraph."
    assert story_b.title == "Example desk story B about Heartstopper"
    assert story_b.guid == "urn:example:desk:b"


def test_a_plain_title_keeps_its_angle_brackets() -> None:
    body = rss([{"title": "Nick &lt; Charlie &amp; friends", "link": "https://g.example/1"}])
    [only] = parse_feed(body, url=BASE, content_type="text/xml").entries
    assert only.title == "Nick < Charlie & friends"


def test_entries_without_a_title_or_text_are_dropped() -> None:
    body = rss([{"title": "Kept", "link": "javascript:alert(1)", "guid": "urn:g"},
                {"description": ""},
                {"title": "Only a title"},
                {"description": "&lt;p&gt;Only a summary, which titles the entry&lt;/p&gt;"}])
    kept = parse_feed(body, url=BASE, content_type=None).entries
    assert [(e.title, e.link, e.guid) for e in kept] == [
        ("Kept", None, "urn:g"), ("Only a title", None, None),
        ("Only a summary, which titles the entry", None, None)]


@pytest.mark.parametrize(("name", "why"), [
    ("malformed.xml", "malformed XML"),
    ("not_a_feed.html", "not an RSS or Atom feed"),
])
def test_documents_that_are_not_feeds_are_refused(name: str, why: str) -> None:
    with pytest.raises(FeedParseError, match=why):
        parse_feed(fixture(name), url=BASE, content_type="text/html")


def test_empty_and_binary_bodies_are_refused() -> None:
    for body in (b"", b"\x00\xff\xfe" * 100, b'{"json": true}'):
        with pytest.raises(FeedParseError):
            parse_feed(body, url=BASE, content_type=None)


def test_a_feed_that_declares_external_entities_reads_nothing_from_disk() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
            b'<rss version="2.0"><channel><title>T</title><item><title>Hi &x;</title>'
            b"<link>https://g.example/1</link></item></channel></rss>")
    entries = parse_feed(body, url=BASE, content_type="text/xml").entries
    assert entries and all("Hi" in e.title and len(e.title) < 10 for e in entries)


def test_content_types_are_checked_loosely() -> None:
    for ok in ("application/rss+xml; charset=utf-8", "application/atom+xml", "text/xml",
               "application/xml", "text/plain", "text/html", None, ""):
        assert acceptable_content_type(ok), ok
    for bad in ("image/png", "application/json", "application/octet-stream", "video/mp4"):
        assert not acceptable_content_type(bad), bad


def test_backoff_doubles_up_to_the_cap() -> None:
    timing = FeedTiming(interval=60, backoff_cap=500)
    assert [feed_backoff(n, timing) for n in range(1, 7)] == [60, 120, 240, 480, 500, 500]
    assert feed_backoff(1000, timing) == 500
