"""Feeds that heal themselves: one unreadable entry never costs the rest of the feed, a failing
feed's log lines name only its host, and FEED_POLL_SECONDS drives a real poll loop.

The real bot and discord.py client on the local Discord emulator, fetching from a local HTTP
server; waits are liveness guards."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import AsyncIterator

import pytest

from bot.core.config import Settings, configure_logging
from bot.feeds.parser import parse_feed
from bot.playground.harness import BotRunner, emulator_settings
from emulator import default_config
from emulator.testing import running_emulator
from tests.conftest import Harness
from tests.feeds_server import FeedServer, rss
from tests.test_feeds_e2e import news_messages, poll_later, poller_of, subscribe_directly, until


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


def good(n: int) -> dict[str, str]:
    return {"guid": f"good-{n}", "link": f"https://fans.example.org/{n}",
            "title": f"Good story {n}", "pubDate": "Tue, 24 Nov 2026 10:00:00 GMT"}


# Each breaks one entry: feedparser raises on the first two for the whole document.
BAD_ENTRIES = {
    "a reference beyond Unicode": {"guid": "bad", "title": "Broken &#99999999; headline"},
    "a reference to a surrogate": {"guid": "bad", "title": "Broken &#xD800; headline"},
    "no title and no text": {"guid": "bad", "link": "https://fans.example.org/empty"},
}


@pytest.mark.parametrize("kind", list(BAD_ENTRIES))
async def test_one_bad_entry_among_good_ones_posts_the_good_ones_and_the_feed_stays_active(
        harness: Harness, server: FeedServer, kind: str) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    bad = BAD_ENTRIES[kind]
    # Even the first document may hold a bad entry: the feed is followed all the same.
    server.serve("/rss", rss([good(1), bad]))
    added = await emu.invoke("news feed add", {"url": server.url("/rss")}, guild_id=h.guild_id,
                             user="owner")
    assert added.errors == [] and added.content.startswith("Now following"), added.content

    server.serve("/rss", rss([good(3), bad, good(2), good(1)]))
    [polled] = await poll_later(h, seconds=901)
    assert polled.outcome == "ingested" and polled.report is not None
    assert len(polled.report.posted) == 2
    await until(lambda: len(news_messages(h, general)) == 2, "both good entries are posted")
    titles = sorted(m.embed["title"] for m in news_messages(h, general))
    assert titles == ["Good story 2", "Good story 3"]

    [feed] = await h.store.feeds.feeds()
    assert feed.state == "active" and feed.failures == 0 and feed.unreadable_entries == 1
    listed = await emu.invoke("news feed list", guild_id=h.guild_id, user="owner")
    assert "1 unreadable entry left out" in listed.embed["description"]


def test_a_mangled_xml_declaration_is_read_without_it() -> None:
    body = (b'<?xml version="1.0" encoding="utf-8\xff"?>'
            + rss([good(1), good(2)]).split(b"?>", 1)[1])
    parsed = parse_feed(body, url="https://fans.example.org/rss", content_type=None)
    assert [e.title for e in parsed.entries] == ["Good story 1", "Good story 2"]
    assert parsed.unreadable == 0


def test_a_document_whose_frame_cannot_be_read_fails_with_one_line() -> None:
    body = rss([good(1)], title="Broken &#99999999; feed title")
    with pytest.raises(Exception) as raised:
        parse_feed(body, url="https://fans.example.org/rss", content_type=None)
    reason = getattr(raised.value, "reason", "")
    assert reason == "the document cannot be read (bad characters or encoding)"


SECRET_PATH = "/private-path-4271/rss"
SECRET_QUERY = "token=s3cr3t-value"


async def test_a_failing_feed_logs_only_its_host(harness: Harness, server: FeedServer,
                                                 caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    h, emu = harness, harness.emu
    configure_logging(dataclasses.replace(h.bot.settings, log_level="DEBUG"))
    caplog.set_level(logging.DEBUG)
    url = server.url(SECRET_PATH) + "?" + SECRET_QUERY
    server.serve(SECRET_PATH, rss([good(1)]))
    added = await emu.invoke("news feed add", {"url": url}, guild_id=h.guild_id, user="owner")
    assert added.content.startswith("Now following")

    poller = poller_of(h)
    failures = [
        lambda: server.status(SECRET_PATH, 500),
        lambda: server.serve(SECRET_PATH, b"<rss><channel><item>", content_type="text/xml"),
        lambda: server.serve(SECRET_PATH, b"<html>hi</html>", content_type="text/html"),
        lambda: server.redirect(SECRET_PATH, SECRET_PATH),
    ]
    for make_it_fail in failures:
        make_it_fail()
        [polled] = await poll_later(h, hours=7)
        assert polled.outcome == "failed", polled

    # A bug of ours whose message carries the address: neither it nor a traceback is logged.
    async def crash(body: bytes, url: str, content_type: str | None) -> None:
        raise ValueError(f"cannot handle {url}")

    server.serve(SECRET_PATH, rss([good(1)]))
    monkeypatch.setattr(poller, "_parse", crash)
    [polled] = await poll_later(h, hours=7)
    assert polled.outcome == "failed"

    # Every line of the bot's, at DEBUG and with tracebacks (the feed server's own access log
    # is the test's, not the bot's).
    formatter = logging.Formatter()
    logged = "\n".join(formatter.format(r) for r in caplog.records
                       if r.levelno >= logging.getLogger(r.name).getEffectiveLevel()
                       and not r.name.startswith("aiohttp.access"))
    assert "feed 1 (127.0.0.1)" in logged
    leaks = [line for line in logged.splitlines() if "private-path" in line or "s3cr3t" in line]
    assert leaks == []


async def test_feed_poll_seconds_runs_a_real_poll_loop(settings: Settings,
                                                       server: FeedServer) -> None:
    """The bot's own background loop, on the real clock, polling every second."""
    server.serve("/rss", rss([good(1)]))
    fast = dataclasses.replace(settings, feed_poll_seconds=1.0)
    async with running_emulator(default_config(guilds=1)) as emu:
        runner = BotRunner(emu, emulator_settings(fast, emu))
        await runner.start()
        try:
            assert runner.store is not None
            h_guild = emu.config.guilds[0]
            general = next(c.id for c in h_guild.channels if c.name == "general")
            await runner.store.news.subscribe(h_guild.id, general, role_id=None, publish=False,
                                              subscribed_by=None, now=runner.bot.clock())
            added = await emu.invoke("news feed add", {"url": server.url("/rss")},
                                     guild_id=h_guild.id, user="owner")
            assert added.content.startswith("Now following")
            server.serve("/rss", rss([good(2), good(1)]))

            def posted() -> bool:
                return any(m.embeds and m.embed["title"].startswith("Good story 2")
                           for m in emu.channel_messages(general))

            await until(posted, "the loop fetches the feed again and posts the new entry")
            assert len(server.hits("/rss")) >= 2
        finally:
            await runner.stop()


async def test_a_refused_write_is_not_counted_against_the_feed(harness: Harness,
                                                               server: FeedServer) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    server.serve("/rss", rss([good(1)]))
    await emu.invoke("news feed add", {"url": server.url("/rss")}, guild_id=h.guild_id,
                     user="owner")
    server.serve("/rss", rss([good(2), good(1)]))
    h.store.database.write_fault = lambda: sqlite3.OperationalError("database is locked")
    [polled] = await poll_later(h, seconds=901)
    assert polled.outcome == "failed" and polled.error == "the database was busy"
    h.store.database.write_fault = None
    [feed] = await h.store.feeds.feeds()
    assert feed.failures == 0 and feed.last_error is None  # the feed did nothing wrong
    [polled] = await poll_later(h, seconds=1)  # still due: fetched again at once
    assert polled.outcome == "ingested"
    await until(lambda: len(news_messages(h, general)) == 1, "the new entry is posted")
