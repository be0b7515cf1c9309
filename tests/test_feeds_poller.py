"""The poller against a local HTTP server: real fetches, real feedparser, a real SQLite store,
and the real NewsRepository.publish (item + deliveries in one transaction)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.feeds import FeedAddError, FeedPoller, FeedTiming
from bot.feeds.fetcher import FeedFetcher
from bot.feeds.models import Feed
from bot.feeds.review import FeedReview
from bot.news.models import NewsDraft, NewsItem, Published
from bot.news.render import news_message
from bot.store import Store
from tests.feeds_server import FeedServer, fixture, rss

TIMING = FeedTiming(interval=60, fetch_timeout=1.0, connect_timeout=1.0, backoff_cap=600,
                    max_failures=4, max_bytes=2 * 1024 * 1024, first_look=0, tick=1)


@dataclass
class Rig:
    store: Store
    server: FeedServer
    poller: FeedPoller
    now: datetime = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    disabled: list[Feed] = field(default_factory=list)
    crash_after_publish: int = 0  # publishes that "crash" right after committing

    def clock(self) -> datetime:
        return self.now

    async def publish(self, draft: NewsDraft) -> Published:
        published = await self.store.news.publish(draft, self.now)
        if self.crash_after_publish:
            self.crash_after_publish -= 1
            raise RuntimeError("the process died here")
        return published

    async def notify(self, feed: Feed) -> None:
        self.disabled.append(feed)

    async def add(self, path: str, **options: object) -> Feed:
        result = await self.poller.add(self.server.url(path), keywords=options.get(
            "keywords", ()), review=bool(options.get("review", False)), added_by=1)  # type: ignore[arg-type]
        return result.feed

    async def later(self, seconds: float = 61) -> list:
        self.now += timedelta(seconds=seconds)
        return await self.poller.poll_once()

    async def feed_items(self) -> list[NewsItem]:
        items = await self.store.news.latest(1000)
        return sorted((i for i in items if i.origin == "feed"), key=lambda i: i.id)

    async def feed(self, feed_id: int) -> Feed:
        found = await self.store.feeds.feed(feed_id)
        assert found is not None
        return found


@pytest.fixture
async def rig(store: Store) -> AsyncIterator[Rig]:
    async with FeedServer() as server:
        holder: list[Rig] = []
        fetcher = FeedFetcher(TIMING, allow_private=True)  # the server is on 127.0.0.1
        poller = FeedPoller(store, fetcher, publish=lambda d: holder[0].publish(d),
                            clock=lambda: holder[0].now, timing=TIMING,
                            notify_disabled=lambda f: holder[0].notify(f))
        rig = Rig(store, server, poller)
        holder.append(rig)
        await store.news.subscribe(1, 100, role_id=None, publish=False, subscribed_by=5,
                                   now=rig.now)
        try:
            yield rig
        finally:
            await poller.stop()


# ---- new entries ----------------------------------------------------------------------------


async def test_rss_first_fetch_posts_nothing_then_new_entries_arrive_once(rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"))
    result = await rig.poller.add(rig.server.url("/rss"), keywords=(), review=False,
                                  added_by=1)
    assert result.report.baseline == 3 and not result.existed
    assert result.feed.primed and result.feed.title == "Example Fan Site"
    assert await rig.feed_items() == []

    rig.server.serve("/rss", fixture("rss_second.xml"))
    [polled] = await rig.later()
    assert polled.outcome == "ingested" and polled.report is not None
    assert polled.report.known == 2 and len(polled.report.posted) == 2
    story4, story5 = await rig.feed_items()  # oldest first
    assert story4.title == "Example story 4: knitting circle swaps patterns"
    assert story4.published == "2026-11-24" and story4.url == "https://fans.example.org/stories/4"
    assert story5.body == "The fifth test story, with a link."
    assert len(await rig.store.news.deliveries(item_id=story5.id)) == 1

    assert await rig.later() != []
    assert await rig.later() != []
    assert len(await rig.feed_items()) == 2
    assert len(await rig.store.news.deliveries()) == 2
    feed = await rig.feed(result.feed.id)
    assert feed.last_new_at == rig.now - timedelta(seconds=122) and feed.failures == 0


async def test_atom_entries_arrive_with_hostile_text_made_harmless(rig: Rig) -> None:
    rig.server.serve("/atom", fixture("atom_first.xml"), content_type="application/atom+xml")
    await rig.add("/atom")
    rig.server.serve("/atom", fixture("atom_second.xml"), content_type="application/atom+xml")
    await rig.later()
    [story_c] = await rig.feed_items()
    assert story_c.url == rig.server.url("/tag/heartstopper/c")
    assert story_c.body == "Hello <@123456789012345678> and @here.\n\nSecond paragraph."
    post = news_message(story_c, role_id=None, watched_season=None)
    assert post.content is None and post.allowed_mentions.to_dict()["parse"] == []
    title, text = post.embed.title or "", post.embed.description or ""
    assert "@everyone" not in title and r"\*\*stars\*\*" in title
    assert "<@123456789012345678>" not in text and "@here" not in text


async def test_an_unchanged_feed_costs_a_304(rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"), etag='"v1"',
                     last_modified="Wed, 25 Nov 2026 11:00:00 GMT")
    feed = await rig.add("/rss")
    assert feed.etag == '"v1"'
    [polled] = await rig.later()
    assert polled.outcome == "not_modified"
    last = rig.server.hits("/rss")[-1].headers
    assert last["If-None-Match"] == '"v1"'
    assert last["If-Modified-Since"] == "Wed, 25 Nov 2026 11:00:00 GMT"
    after = await rig.feed(feed.id)
    assert after.last_ok_at == rig.now and after.failures == 0
    assert after.next_fetch_at == rig.now + timedelta(seconds=60)


async def test_a_flood_of_unseen_entries_posts_only_the_newest_few(rig: Rig) -> None:
    rig.server.serve("/gen", rss([{"title": "Old story", "guid": "urn:old"}]))
    await rig.add("/gen")
    rig.server.serve("/gen", rss([
        {"title": f"Story number {n}", "guid": f"urn:{n}",
         "pubDate": f"Tue, {10 + n} Nov 2026 09:00:00 GMT"} for n in range(8)]))
    [polled] = await rig.later()
    assert polled.report is not None and polled.report.skipped == 3
    assert [i.title for i in await rig.feed_items()] == [f"Story number {n}" for n in range(3, 8)]
    await rig.later()
    assert len(await rig.feed_items()) == 5


# ---- failures -------------------------------------------------------------------------------


async def test_server_errors_back_off_then_recover(rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"))
    feed = await rig.add("/rss")
    rig.server.status("/rss", 500)
    waits = []
    for _ in range(3):
        [polled] = await rig.later((await rig.feed(feed.id)).next_fetch_at.timestamp()
                                   - rig.now.timestamp())
        assert polled.outcome == "failed" and polled.error == "HTTP 500"
        after = await rig.feed(feed.id)
        waits.append((after.next_fetch_at - rig.now).total_seconds())
    assert waits == [60, 120, 240]
    assert await rig.later(239) == []  # not due yet: nothing is fetched

    rig.server.serve("/rss", fixture("rss_second.xml"))
    [polled] = await rig.later(1)
    assert polled.outcome == "ingested"
    recovered = await rig.feed(feed.id)
    assert recovered.failures == 0 and recovered.last_error is None
    assert recovered.next_fetch_at == rig.now + timedelta(seconds=60)
    assert len(await rig.feed_items()) == 2


async def test_retry_after_is_honoured(rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"))
    feed = await rig.add("/rss")
    rig.server.status("/rss", 429, {"Retry-After": "300"})
    [polled] = await rig.later()
    assert polled.error == "HTTP 429"
    assert (await rig.feed(feed.id)).next_fetch_at == rig.now + timedelta(seconds=300)


async def test_a_hanging_server_times_out_without_holding_up_the_others(rig: Rig) -> None:
    rig.server.serve("/slow", fixture("rss_first.xml"))
    rig.server.serve("/rss", fixture("rss_first.xml"))
    slow, fine = await rig.add("/slow"), await rig.add("/rss")
    rig.server.hang("/slow")
    rig.server.serve("/rss", fixture("rss_second.xml"))
    results = {r.feed.id: r for r in await rig.later()}
    assert results[slow.id].error == "timed out after 1 s"
    assert results[fine.id].outcome == "ingested"
    assert len(await rig.feed_items()) == 2


async def test_hostile_feeds_fail_alone(rig: Rig) -> None:
    paths = ["/bad-xml", "/html", "/huge", "/huge-declared", "/image", "/loop", "/far",
             "/elsewhere", "/gone", "/good"]
    for path in paths:
        rig.server.serve(path, fixture("rss_first.xml"))
    feeds = {path: await rig.add(path) for path in paths}
    rig.server.serve("/bad-xml", fixture("malformed.xml"))
    rig.server.serve("/html", fixture("not_a_feed.html"), content_type="text/html")
    rig.server.stream("/huge", 20 * 1024 * 1024)
    rig.server.stream("/huge-declared", 20 * 1024 * 1024, declare_length=True)
    rig.server.serve("/image", b"\x89PNG....", content_type="image/png")
    rig.server.redirect("/loop", "/loop2")
    rig.server.redirect("/loop2", "/loop")
    for hop in range(7):  # a chain longer than max_redirects
        rig.server.redirect("/far" if hop == 0 else f"/far{hop}", f"/far{hop + 1}")
    rig.server.redirect("/elsewhere", "ftp://files.example.org/feed.xml")
    rig.server.status("/gone", 410)
    rig.server.serve("/good", fixture("rss_second.xml"))

    results = {r.feed.url: r for r in await rig.later()}
    errors = {path: results[rig.server.url(path)].error for path in paths}
    assert errors["/bad-xml"] is not None and errors["/bad-xml"].startswith("malformed XML")
    assert errors["/html"] == "not an RSS or Atom feed"
    assert errors["/huge"] == errors["/huge-declared"] == "larger than 2048 KB"
    assert errors["/image"] == "not a feed (content type image/png)"
    assert errors["/loop"] == "redirect loop"
    assert errors["/far"] == "more than 5 redirects"
    assert errors["/elsewhere"] is not None and "cannot be followed" in errors["/elsewhere"]
    assert errors["/gone"] == "HTTP 410"
    assert errors["/good"] is None and results[rig.server.url("/good")].outcome == "ingested"
    # The 20 MB body was abandoned at the cap, never read to the end.
    assert rig.server.streams_finished["/huge"] is False
    assert len(await rig.feed_items()) == 2
    for path in paths[:-1]:
        assert (await rig.feed(feeds[path].id)).failures == 1, path


async def test_many_failures_in_a_row_disable_the_feed_and_tell_the_owners(rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"))
    feed = await rig.add("/rss")
    rig.server.status("/rss", 503)
    outcomes = []
    for _ in range(TIMING.max_failures):
        [polled] = await rig.later(TIMING.backoff_cap)
        outcomes.append(polled.outcome)
    assert outcomes == ["failed"] * (TIMING.max_failures - 1) + ["disabled"]
    [told] = rig.disabled
    assert told.id == feed.id and told.state == "disabled"
    assert told.disabled_reason == "4 failed fetches in a row; the last: HTTP 503"
    assert await rig.later(86400) == []  # disabled feeds are not fetched

    # Adding it again follows it afresh: what it shows now is recorded, not posted.
    rig.server.serve("/rss", fixture("rss_second.xml"))
    result = await rig.poller.add(rig.server.url("/rss"), keywords=(), review=False,
                                  added_by=1)
    assert result.reenabled and result.report.baseline == 4 and result.feed.state == "active"
    assert await rig.feed_items() == []


async def test_adding_a_feed_that_does_not_work_stores_nothing(rig: Rig) -> None:
    rig.server.serve("/html", fixture("not_a_feed.html"), content_type="text/html")
    rig.server.status("/missing", 404)
    for path, why in (("/html", "not an RSS or Atom feed"), ("/missing", "HTTP 404")):
        with pytest.raises(FeedAddError, match=why):
            await rig.poller.add(rig.server.url(path), keywords=(), review=False, added_by=1)
    with pytest.raises(FeedAddError, match="only http"):
        await rig.poller.add("gopher://example.org/", keywords=(), review=False, added_by=1)
    assert await rig.store.feeds.feeds() == []


async def test_a_redirected_feed_is_followed(rig: Rig) -> None:
    rig.server.redirect("/old", "/new")
    rig.server.serve("/new", fixture("rss_first.xml"))
    feed = await rig.add("/old")
    assert feed.url == rig.server.url("/old") and feed.primed


# ---- dedupe ---------------------------------------------------------------------------------


async def test_guid_churn_with_the_same_link_posts_nothing(rig: Rig) -> None:
    items = [{"title": f"Churning story {n}", "link": f"https://gen.example.org/{n}",
              "guid": f"urn:first:{n}"} for n in range(3)]
    rig.server.serve("/gen", rss(items))
    await rig.add("/gen")
    for item in items:
        item["guid"] = item["guid"].replace("first", "second")
    rig.server.serve("/gen", rss(items))
    [polled] = await rig.later()
    assert polled.report is not None and polled.report.known == 3
    # Now the link changes but the (new) guid stays: still the same entries.
    for item in items:
        item["link"] += "?moved=1"
    rig.server.serve("/gen", rss(items))
    await rig.later()
    assert await rig.feed_items() == []


async def test_entries_without_guid_or_link_are_known_by_title_and_date(rig: Rig) -> None:
    entry = {"title": "A story with only a title", "pubDate": "Tue, 24 Nov 2026 09:00:00 GMT"}
    rig.server.serve("/gen", rss([entry]))
    await rig.add("/gen")
    await rig.later()
    assert await rig.feed_items() == []
    rig.server.serve("/gen", rss([{**entry, "pubDate": "Wed, 25 Nov 2026 09:00:00 GMT"},
                                  entry]))
    await rig.later()
    assert [i.published for i in await rig.feed_items()] == ["2026-11-25"]


async def test_one_story_from_two_feeds_or_posted_by_hand_is_sent_once(rig: Rig) -> None:
    rig.server.serve("/a", rss([]))
    rig.server.serve("/b", rss([]))
    await rig.add("/a")
    await rig.add("/b")
    # By hand first: an owner posts a story; a feed later carries it under a tracking link.
    await rig.store.news.publish(NewsDraft(
        dedupe_key="owner:1", title="Owner posted story", body="", published="2026-11-25",
        origin="owner", url="https://story.example.org/hand"), rig.now)
    rig.server.serve("/a", rss([
        {"title": "Same story on two sites", "link": "https://story.example.org/one",
         "guid": "urn:a:1"},
        {"title": "Carried later", "link": "https://www.story.example.org/hand?utm_source=x",
         "guid": "urn:a:2"},
    ]))
    rig.server.serve("/b", rss([
        {"title": "Same story, other words", "link": "http://story.example.org/one/",
         "guid": "urn:b:1"},
        {"title": "Heartstopper fan event in the park", "link": "https://b.example.org/1",
         "guid": "urn:b:2"},
    ]))
    await rig.later()
    rig.server.serve("/a", rss([
        {"title": "Heartstopper: fan event in the park!", "link": "https://a.example.org/9",
         "guid": "urn:a:9"}]))
    await rig.later()
    titles = sorted(i.title for i in await rig.feed_items())
    # The two feeds are polled concurrently: whichever carries the shared story first wins.
    assert len(titles) == 2
    assert titles[0] == "Heartstopper fan event in the park"
    assert titles[1] in ("Same story on two sites", "Same story, other words")
    assert len(await rig.store.news.deliveries()) == 3  # two feed items and the owner post


async def test_keyword_filters_let_through_only_what_mentions_them(rig: Rig) -> None:
    rig.server.serve("/gen", rss([]))
    await rig.add("/gen", keywords=("Heartstopper", "Alice Oseman"))
    rig.server.serve("/gen", rss([
        {"title": "A bake sale at the library", "guid": "urn:1"},
        {"title": "HEARTSTOPPER: a fan meetup", "guid": "urn:2"},
        {"title": "Weekend plans", "description": "Tagged #heartstopper and more",
         "guid": "urn:3"},
        {"title": "Heartstoppers of the world", "guid": "urn:4"},
    ]))
    [polled] = await rig.later()
    assert polled.report is not None and polled.report.filtered == 2
    assert sorted(i.title for i in await rig.feed_items()) == [
        "HEARTSTOPPER: a fan meetup", "Weekend plans"]
    await rig.later()
    assert len(await rig.feed_items()) == 2


# ---- review ---------------------------------------------------------------------------------


async def test_review_mode_holds_entries_until_an_owner_decides(rig: Rig) -> None:
    review = FeedReview(rig.store, publish=rig.publish, clock=rig.clock, timing=TIMING)
    rig.server.serve("/rss", fixture("rss_first.xml"))
    rig.server.serve("/other", rss([]))
    await rig.add("/rss", review=True)
    await rig.add("/other", review=True)
    rig.server.serve("/rss", fixture("rss_second.xml"))
    await rig.later()
    assert await rig.feed_items() == []
    story4, story5 = await rig.store.feeds.pending()
    assert story4.title.startswith("Example story 4") and story4.feed_title == "Example Fan Site"

    posted = await review.approve(story4.id, by=1)
    assert posted is not None and posted.decision == "posted" and posted.deliveries == 1
    again = await review.approve(story4.id, by=2)
    assert again is not None and again.decision == "decided"
    dropped = await review.drop(story5.id, by=1)
    assert dropped is not None and dropped.decision == "dropped"
    assert [i.title for i in await rig.feed_items()] == [story4.title]

    # The dropped story turns up in another review feed: it is not asked about again.
    rig.server.serve("/other", rss([{"title": "Story five elsewhere", "guid": "urn:x",
                                     "link": "https://fans.example.org/stories/5"}]))
    await rig.later()
    assert await rig.store.feeds.pending() == []
    assert len(await rig.store.news.deliveries()) == 1


async def test_approving_a_story_that_became_news_meanwhile_drops_it(rig: Rig) -> None:
    review = FeedReview(rig.store, publish=rig.publish, clock=rig.clock, timing=TIMING)
    rig.server.serve("/rss", fixture("rss_first.xml"))
    await rig.add("/rss", review=True)
    rig.server.serve("/rss", fixture("rss_second.xml"))
    await rig.later()
    held, _ = await rig.store.feeds.pending()
    await rig.store.news.publish(NewsDraft(
        dedupe_key="owner:9", title="Posted by hand", body="", published="2026-11-25",
        origin="owner", url="https://fans.example.org/stories/4/"), rig.now)
    outcome = await review.approve(held.id, by=1)
    assert outcome is not None and outcome.decision == "duplicate"
    assert await rig.feed_items() == []


# ---- crashes --------------------------------------------------------------------------------


async def test_a_crash_between_publishing_and_marking_seen_loses_and_repeats_nothing(
        rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"), etag='"v1"')
    feed = await rig.add("/rss")
    rig.server.serve("/rss", fixture("rss_second.xml"), etag='"v2"')
    rig.crash_after_publish = 1
    [polled] = await rig.later()
    assert polled.outcome == "failed" and polled.error == "internal error while storing entries"
    [committed] = await rig.feed_items()  # the item and its delivery were committed
    assert (await rig.feed(feed.id)).etag == '"v1"'  # not saved: the next fetch is a full one

    [polled] = await rig.later(120)
    assert polled.outcome == "ingested"
    items = await rig.feed_items()
    assert [i.title for i in items] == [committed.title,
                                        "Example story 5: Heartstopper cosplay meetup planned"]
    assert len(await rig.store.news.deliveries()) == 2  # one per item: nothing sent twice
    assert (await rig.feed(feed.id)).etag == '"v2"'
    [polled] = await rig.later()
    assert polled.outcome == "not_modified"


async def test_the_background_loop_polls_what_is_due(rig: Rig) -> None:
    rig.server.serve("/rss", fixture("rss_first.xml"))
    await rig.add("/rss")
    rig.server.serve("/rss", fixture("rss_second.xml"))
    rig.now += timedelta(seconds=61)
    rig.poller.start()
    assert rig.poller.running
    for _ in range(1000):  # a liveness guard (about 20 s), not a timing assertion
        if len(await rig.feed_items()) == 2:
            break
        await asyncio.sleep(0.02)
    assert len(await rig.feed_items()) == 2
    await rig.poller.stop()
    assert not rig.poller.running
