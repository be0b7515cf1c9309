"""FeedsRepository on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.feeds.store import Fingerprint, HeldDraft
from bot.news.models import NewsDraft
from bot.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
URL = "https://fans.example.org/feed"


async def test_adding_again_updates_and_a_disabled_feed_starts_from_scratch(store: Store) -> None:
    feed = await store.feeds.add(URL, keywords=["Heartstopper"], review=False, added_by=1,
                                 now=NOW)
    assert (feed.state, feed.primed, feed.keywords, feed.next_fetch_at) == (
        "active", False, ("Heartstopper",), NOW)
    await store.feeds.record_fetched(feed.id, NOW, next_fetch_at=NOW + timedelta(minutes=15),
                                     etag='"v1"', last_modified=None, title="Fans",
                                     new_entries=False)
    again = await store.feeds.add(URL, keywords=[], review=True, added_by=2, now=NOW)
    assert again.id == feed.id and again.primed and again.etag == '"v1"'
    assert again.keywords == () and again.review

    for n in range(3):
        failed = await store.feeds.record_failure(
            feed.id, NOW, f"HTTP 500 ({n})", next_fetch_at=NOW + timedelta(hours=n),
            disable_after=3, disabled_reason="3 failed fetches in a row")
        assert failed is not None
        assert failed.disabled_now == (n == 2)
    disabled = await store.feeds.feed(feed.id)
    assert disabled is not None and disabled.state == "disabled" and disabled.failures == 3
    assert disabled.disabled_reason == "3 failed fetches in a row"
    assert disabled.last_error == "HTTP 500 (2)"
    assert await store.feeds.due(NOW + timedelta(days=1)) == []

    later = NOW + timedelta(days=2)
    revived = await store.feeds.add(URL, keywords=[], review=False, added_by=1, now=later)
    assert (revived.state, revived.primed, revived.failures, revived.etag) == (
        "active", False, 0, None)
    assert revived.next_fetch_at == later and revived.disabled_reason is None
    assert [f.id for f in await store.feeds.due(later)] == [feed.id]


async def test_known_keys_in_any_number(store: Store) -> None:
    feed = await store.feeds.add(URL, keywords=[], review=False, added_by=1, now=NOW)
    other = await store.feeds.add(URL + "2", keywords=[], review=False, added_by=1, now=NOW)
    keys = [f"guid:{n}" for n in range(1200)]
    await store.feeds.mark_seen(feed.id, keys[::2], "baseline", NOW)
    assert await store.feeds.known_keys(feed.id, keys) == set(keys[::2])
    assert await store.feeds.known_keys(other.id, keys) == set()  # seen is per feed


async def test_fingerprints_find_items_by_link_any_time_and_by_title_recently(
        store: Store) -> None:
    posted = await store.news.publish(NewsDraft(
        dedupe_key="owner:1", title="A fan meetup in the park", body="", published="2026-11-25",
        origin="owner", url="https://fans.example.org/meetup"), NOW - timedelta(days=30))
    [missing] = await store.feeds.items_without_fingerprint()
    assert missing.item_id == posted.item.id
    await store.feeds.save_fingerprints(
        [Fingerprint(missing.item_id, "fans.example.org/meetup", "a fan meetup in the park")])
    assert await store.feeds.items_without_fingerprint() == []

    by_link = await store.feeds.find_known("fans.example.org/meetup", None,
                                           title_since=NOW + timedelta(days=300))
    assert by_link is not None and by_link.matched == "link"
    assert by_link.item_id == posted.item.id and by_link.dedupe_key == "owner:1"
    recent = await store.feeds.find_known(None, "a fan meetup in the park",
                                          title_since=NOW - timedelta(days=31))
    assert recent is not None and recent.matched == "title"
    # Dated by the item (30 days old), not by when its fingerprint was made (now).
    assert await store.feeds.find_known(None, "a fan meetup in the park",
                                        title_since=NOW - timedelta(days=14)) is None
    assert await store.feeds.find_known("other", "other", title_since=NOW) is None


async def test_held_entries_are_asked_once_and_decided_once(store: Store) -> None:
    feed = await store.feeds.add(URL, keywords=[], review=True, added_by=1, now=NOW)
    other = await store.feeds.add(URL + "2", keywords=[], review=True, added_by=1, now=NOW)
    draft = HeldDraft(dedupe_key="feed:link:abc", title="Story", body="Body",
                      url="https://fans.example.org/s", published="2026-11-25",
                      link_key="fans.example.org/s", title_key=None)
    held_id = await store.feeds.hold(feed.id, ["guid:1", "link:abc"], draft, NOW)
    assert held_id is not None
    # The same story from another feed: not held twice, but marked seen there.
    assert await store.feeds.hold(other.id, ["guid:9"], draft, NOW) is None
    assert await store.feeds.known_keys(other.id, ["guid:9"]) == {"guid:9"}
    assert await store.feeds.pending_count() == 1
    assert await store.feeds.pending_count(other.id) == 0
    found = await store.feeds.find_held("fans.example.org/s", None)
    assert found is not None and found.id == held_id and found.feed_url == URL

    assert await store.feeds.decide(held_id, "dropped", by=7, now=NOW)
    assert not await store.feeds.decide(held_id, "approved", by=8, now=NOW)
    decided = await store.feeds.held_entry(held_id)
    assert decided is not None and decided.state == "dropped" and decided.decided_by == 7
    assert await store.feeds.pending() == []


async def test_removing_a_feed_takes_its_entries_and_held_items_with_it(store: Store) -> None:
    feed = await store.feeds.add(URL, keywords=[], review=True, added_by=1, now=NOW)
    await store.feeds.mark_seen(feed.id, ["guid:1"], "baseline", NOW)
    await store.feeds.hold(feed.id, ["guid:2"], HeldDraft("k", "T", "", None, "2026-11-25",
                                                          None, None), NOW)
    removed = await store.feeds.remove(feed.id)
    assert removed is not None and removed.url == URL
    assert await store.feeds.remove(feed.id) is None
    assert await store.database.fetch_value("SELECT COUNT(*) FROM feed_entries") == 0
    assert await store.database.fetch_value("SELECT COUNT(*) FROM feed_held_entries") == 0
