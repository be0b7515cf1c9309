"""Feeds end to end: the real bot and discord.py client on the local Discord emulator, fetching
from a local HTTP server. Waits are liveness guards, never timing assertions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.feeds import FeedPoller
from bot.news import NewsEngine
from tests.conftest import Harness
from tests.feeds_server import FeedServer, fixture


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


def poller_of(h: Harness) -> FeedPoller:
    cog = h.bot.get_cog("NewsFeeds")
    assert cog is not None
    return cog.poller  # type: ignore[attr-defined]


def engine_of(h: Harness) -> NewsEngine:
    cog = h.bot.get_cog("News")
    assert cog is not None
    return cog.engine  # type: ignore[attr-defined]


async def until(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Wait for `check` (a liveness guard: fail after 20 s rather than hang)."""
    end = asyncio.get_running_loop().time() + 20.0
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.02)


async def settled(h: Harness) -> bool:
    return await h.store.news.open_deliveries() == 0


def news_messages(h: Harness, channel_id: int) -> list:
    return [m for m in h.emu.channel_messages(channel_id)
            if m.author_id == h.emu.config.bot.id and m.embeds]


async def subscribe_directly(h: Harness, channel_id: int) -> None:
    await h.store.news.subscribe(h.guild_id, channel_id, role_id=None, publish=False,
                                 subscribed_by=h.emu.config.owner.id, now=h.now)


async def poll_later(h: Harness, **delta: float) -> list:
    h.advance(**delta)
    return await poller_of(h).poll_due(h.now)


async def test_feed_commands_are_for_owners_only(harness: Harness, server: FeedServer) -> None:
    h, emu = harness, harness.emu
    server.serve("/rss", fixture("rss_first.xml"))
    for command, options in (("news feed add", {"url": server.url("/rss")}),
                             ("news feed list", {}), ("news feed remove", {"feed": "1"}),
                             ("news review", {})):
        refused = await emu.invoke(command, options, guild_id=h.guild_id, user="moderator")
        assert refused.ephemeral and refused.content.startswith("Only the bot's owners"), command
    choices = await emu.autocomplete("news feed remove", {"feed": ""}, focused="feed",
                                     guild_id=h.guild_id, user="moderator")
    assert choices == []
    assert server.requests == [] and await h.store.feeds.feeds() == []


async def test_an_owner_adds_lists_and_removes_feeds(harness: Harness,
                                                     server: FeedServer) -> None:
    h, emu = harness, harness.emu
    server.serve("/rss", fixture("rss_first.xml"))
    added = await emu.invoke("news feed add", {"url": server.url("/rss"),
                                               "keywords": "Heartstopper, Alice Oseman"},
                             guild_id=h.guild_id, user="owner")
    assert added.ephemeral and added.errors == []
    assert added.content.startswith("Now following **Example Fan Site**")
    assert "recorded 3 existing entries; new ones will be posted" in added.content
    assert "**Heartstopper** or **Alice Oseman**" in added.content

    for options, answer in (
        ({"url": "ftp://files.example.org/feed"}, "only http:// and https://"),
        ({"url": server.url("/missing")}, "HTTP 404"),
        ({"url": server.url("/rss"), "keywords": "!!!"}, "`keywords`"),
    ):
        refused = await emu.invoke("news feed add", options, guild_id=h.guild_id, user="owner")
        assert refused.ephemeral and answer in refused.content, refused.content
    assert len(await h.store.feeds.feeds()) == 1

    listed = await emu.invoke("news feed list", guild_id=h.guild_id, user="owner")
    text = listed.embed["description"]
    assert "**#1 Example Fan Site** · active · keywords: Heartstopper, Alice Oseman" in text
    assert "last new item never" in text

    choices = await emu.autocomplete("news feed remove", {"feed": "fan"}, focused="feed",
                                     guild_id=h.guild_id, user="owner")
    assert choices == [{"name": "#1 Example Fan Site", "value": "1"}]
    removed = await emu.invoke("news feed remove", {"feed": "1"}, guild_id=h.guild_id,
                               user="owner")
    assert removed.content.startswith("Stopped following **Example Fan Site**")
    again = await emu.invoke("news feed remove", {"feed": "1"}, guild_id=h.guild_id,
                             user="owner")
    assert "I don't follow that feed" in again.content
    assert await h.store.feeds.feeds() == []


async def test_new_entries_survive_a_restart_between_fetch_and_delivery(
        harness: Harness, server: FeedServer) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    server.serve("/rss", fixture("rss_first.xml"), etag='"v1"')
    await emu.invoke("news feed add", {"url": server.url("/rss")}, guild_id=h.guild_id,
                     user="owner")
    server.serve("/rss", fixture("rss_second.xml"), etag='"v2"')

    await engine_of(h).stop()  # the process goes down after the fetch, before any delivery
    [polled] = await poll_later(h, seconds=901)
    assert polled.report is not None and len(polled.report.posted) == 2
    assert news_messages(h, general) == []

    await h.restart()
    await until(lambda: len(news_messages(h, general)) == 2, "both entries are posted")
    await until(lambda: settled(h), "the outbox is empty")
    titles = [m.embed["title"] for m in news_messages(h, general)]
    assert titles == ["Example story 4: knitting circle swaps patterns",
                      "Example story 5: Heartstopper cosplay meetup planned"]
    assert all(m.allowed_mentions == {"parse": []} for m in news_messages(h, general))

    [polled] = await poll_later(h, seconds=901)
    assert polled.outcome == "not_modified"
    await until(lambda: settled(h), "nothing more to send")
    assert len(news_messages(h, general)) == 2


async def test_held_entries_are_posted_or_dropped_with_buttons(harness: Harness,
                                                               server: FeedServer) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    server.serve("/rss", fixture("rss_first.xml"))
    added = await emu.invoke("news feed add", {"url": server.url("/rss"), "review": True},
                             guild_id=h.guild_id, user="owner")
    assert "new ones will wait for review (`/news review`)" in added.content
    server.serve("/rss", fixture("rss_second.xml"))
    await poll_later(h, seconds=901)
    assert news_messages(h, general) == []

    shown = await emu.invoke("news review", guild_id=h.guild_id, user="owner")
    assert shown.ephemeral and shown.buttons == ["Post it", "Drop", "Skip"]
    assert shown.embed["title"] == "Example story 4: knitting circle swaps patterns"
    assert shown.embed["footer"]["text"].endswith("2 waiting for review")

    skipped = await emu.press(shown, "Skip")
    assert skipped.embed["title"].startswith("Example story 5")
    posted = await emu.press(skipped, "Post it")
    assert posted.content.startswith("Posted **Example story 5")
    assert posted.embed["title"].startswith("Example story 4")  # back to the one skipped
    dropped = await emu.press(posted, "Drop")
    assert dropped.content.startswith("Dropped **Example story 4")
    assert "Nothing is waiting for review" in dropped.content and dropped.buttons == []

    await until(lambda: len(news_messages(h, general)) == 1, "the approved entry is posted")
    await until(lambda: settled(h), "the outbox is empty")
    assert news_messages(h, general)[0].embed["title"].startswith("Example story 5")
    empty = await emu.invoke("news review", guild_id=h.guild_id, user="owner")
    assert empty.content.startswith("Nothing is waiting for review")


async def test_a_failing_feed_is_disabled_and_owners_are_told_even_with_dms_closed(
        harness: Harness, server: FeedServer) -> None:
    h, emu = harness, harness.emu
    owner = emu.config.owner
    for path in ("/first", "/second", "/healthy"):
        server.serve(path, fixture("rss_first.xml"))
        await emu.invoke("news feed add", {"url": server.url(path)}, guild_id=h.guild_id,
                         user="owner")
    server.status("/first", 500)
    outcomes = [(await poll_later(h, hours=7)) for _ in range(10)]
    assert [r.outcome for r in outcomes[-1] if r.feed.url.endswith("/first")] == ["disabled"]
    [dm] = emu.dms(owner.id)
    assert "I stopped following the feed **Example Fan Site**" in dm.content
    assert "10 failed fetches in a row; the last: HTTP 500" in dm.content
    assert dm.allowed_mentions == {"parse": []}

    owner.accepts_dms = False
    server.status("/second", 500)
    server.serve("/healthy", fixture("rss_second.xml"))
    for _ in range(10):
        await poll_later(h, hours=7)
    feeds = {f.url.rsplit("/", 1)[1]: f for f in await h.store.feeds.feeds()}
    assert feeds["second"].state == "disabled" and feeds["healthy"].state == "active"
    assert feeds["healthy"].last_new_at is not None
    assert len(emu.dms(owner.id)) == 1  # the closed DMs cost nothing but a log line

    listed = await emu.invoke("news feed list", guild_id=h.guild_id, user="owner")
    assert listed.embed["description"].count("**disabled**") == 2
