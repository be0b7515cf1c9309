"""One stored time format (issue 16): every time column of every table holds
'YYYY-MM-DDTHH:MM:SS.ffffffZ' (bot/core/times.py), after an upgrade and after the features run,
so text order is time order."""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.leadership import BACKGROUND, LeaseRepository
from bot.core.times import parse_stamp, stamp
from bot.feeds.store import Fingerprint, HeldDraft
from bot.news.models import NewsDraft
from bot.quotes.rotation import QuoteRotation
from bot.store import Store
from tests.conftest import add_canon_quotes

ONE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SECONDS = "2026-11-25T12:00:00Z"  # the old format
HALF_PAST = "2026-11-25T12:00:00.500000Z"  # the one format, half a second later
GUILD = 5


def is_time_column(name: str) -> bool:
    return name.endswith("_at") or name in ("next_due", "unsure_since")


def time_columns(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, column) of every time column of every table, read from the schema."""
    tables = [r[0] for r in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'quotes\\_fts%' ESCAPE '\\'"
        " ORDER BY name")]
    return [(table, column) for table in tables
            for (column,) in connection.execute(
                "SELECT name FROM pragma_table_info(?) WHERE type = 'TEXT'", (table,))
            if is_time_column(column)]


def stored_times(path: Path) -> dict[tuple[str, str], list[str]]:
    with sqlite3.connect(path) as connection:
        return {(table, column): [r[0] for r in connection.execute(
                    f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')]
                for table, column in time_columns(connection)}


def not_in_one_format(times: dict[tuple[str, str], list[str]]) -> dict[str, list[str]]:
    return {f"{table}.{column}": bad
            for (table, column), values in times.items()
            if (bad := [v for v in values if not ONE_FORMAT.fullmatch(v)])}


def fill_version_11(path: Path) -> None:
    """A row in every table with a time column, every time column set, in the seconds format
    (and a few in the one format), as a database written before migration 12 holds them."""
    s = SECONDS
    with sqlite3.connect(path) as c:
        c.executemany(
            "INSERT INTO quotes (id, text, speaker_name, status, guild_id, submitted_by,"
            " created_at) VALUES (?, ?, 'Someone', ?, ?, ?, ?)",
            [(1, "said first", "canon", None, None, s),
             (2, "said half a second later", "canon", None, None, HALF_PAST),
             (3, "a submission", "approved", GUILD, 9, "2026-11-25T11:59:59Z")])
        c.execute("INSERT INTO quote_submissions (quote_id, reviewer_id, decided_at)"
                  " VALUES (3, 8, ?)", (s,))
        c.execute("INSERT INTO guild_settings (guild_id, watched_season, updated_at)"
                  " VALUES (?, 2, ?)", (GUILD, s))
        c.execute("INSERT INTO quote_rotations (guild_id, filter_key, last_quote_id, updated_at)"
                  " VALUES (?, '', 1, ?)", (GUILD, s))
        c.execute("INSERT INTO quote_settings (guild_id, updated_at) VALUES (?, ?)", (GUILD, s))
        c.execute("INSERT INTO quote_daily (guild_id, channel_id, local_time, timezone, next_due,"
                  " set_by, updated_at) VALUES (?, 10, '12:00', 'UTC', ?, 1, ?)", (GUILD, s, s))
        c.execute("INSERT INTO news_items (id, dedupe_key, title, published, origin, created_at)"
                  " VALUES (1, 'owner:1', 'News', '2026-11-25', 'owner', ?)", (s,))
        c.execute("INSERT INTO news_subscriptions (id, guild_id, channel_id, created_at,"
                  " updated_at, last_delivery_at, last_error_at) VALUES (1, ?, 10, ?, ?, ?, ?)",
                  (GUILD, s, HALF_PAST, s, s))
        c.execute("INSERT INTO news_deliveries (id, item_id, subscription_id, next_attempt_at,"
                  " nonce, published_at, created_at, sent_at, claimed_at, unsure_since)"
                  " VALUES (1, 1, 1, ?, 'n1', ?, ?, ?, ?, ?)", (s, s, s, s, s, s))
        c.execute("INSERT INTO feeds (id, url, last_fetch_at, last_ok_at, last_new_at,"
                  " next_fetch_at, disabled_at, created_at, updated_at)"
                  " VALUES (1, 'https://fans.example.org/feed', ?, ?, ?, ?, ?, ?, ?)",
                  (s, s, s, s, s, s, s))
        c.execute("INSERT INTO feed_entries (feed_id, key, outcome, item_id, seen_at)"
                  " VALUES (1, 'guid:1', 'posted', 1, ?)", (s,))
        c.execute("INSERT INTO feed_held_entries (feed_id, dedupe_key, title, published, state,"
                  " decided_by, decided_at, created_at) VALUES (1, 'feed:x', 'Held', '2026-11-25',"
                  " 'dropped', 7, ?, ?)", (s, s))
        c.execute("INSERT INTO news_item_fingerprints (item_id, link_key, title_key, created_at)"
                  " VALUES (1, 'fans.example.org/news', 'news', ?)", (s,))


async def test_an_upgrade_leaves_every_time_column_in_the_one_format(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with await Store.open(path, migrate_to=11):
        pass
    fill_version_11(path)
    before = stored_times(path)
    # Every time column of version 11 has a value to convert, and most are seconds.
    assert [key for key, values in before.items() if not values] == []
    assert not_in_one_format(before)

    async with await Store.open(path):
        pass

    after = stored_times(path)
    assert not_in_one_format(after) == {}
    assert all(len(after[key]) == len(values) for key, values in before.items())
    # The same instants: a seconds stamp becomes that second, with six zeros.
    assert after[("quotes", "created_at")] == [
        "2026-11-25T12:00:00.000000Z", HALF_PAST, "2026-11-25T11:59:59.000000Z"]
    assert after[("news_subscriptions", "updated_at")] == [HALF_PAST]


async def test_a_second_and_half_a_second_later_now_sort_in_time_order(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with await Store.open(path, migrate_to=11):
        pass
    fill_version_11(path)
    # Before the migration, text order was not time order: 'Z' sorts after '.'.
    assert SECONDS > HALF_PAST

    async with await Store.open(path) as store:
        rows = await store.database.fetch_all(
            "SELECT id FROM quotes WHERE id IN (1, 2) ORDER BY created_at")
        assert [r[0] for r in rows] == [1, 2]
        assert await store.database.fetch_value(
            "SELECT count(*) FROM quotes WHERE created_at < ?", (HALF_PAST,)) == 2
        # What the features compare: a feed or a daily quote due at 12:00:00 is due half a
        # second later (a seconds stamp compared with a microsecond one said it was not).
        half_past = datetime(2026, 11, 25, 12, 0, 0, 500000, tzinfo=UTC)
        assert [f.id for f in await store.feeds.due(half_past)] == [1]
        due = await store.quotes.due_daily(half_past)
        assert [d.guild_id for d in due] == [GUILD]
        assert due[0].next_due == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def test_the_features_store_every_time_in_the_one_format(seeded_store: Store) -> None:
    store = seeded_store
    now = datetime.now(UTC)
    # Quotes: an insert naming no time (the column's old DEFAULT), a rotation, submissions
    # and their review, settings, the quote of the day.
    await add_canon_quotes(store, ["A quote inserted without a time"])
    rotation = QuoteRotation(store.quotes, random.Random(3))
    for _ in range(3):
        async with rotation.draw(GUILD) as draw:
            assert draw is not None
    for approve in (True, False):
        submitted = await store.quotes.submit(
            guild_id=GUILD, user_id=9, text=f"A submission {approve}", speaker_name="Someone",
            speaker_id=None, source_text=None, near_duplicate_of=None)
        decided = await store.quotes.decide(submitted.quote.id, guild_id=GUILD, reviewer_id=8,
                                            approve=approve, reason="no")
        assert decided is not None and decided.decided_at is not None
        assert parse_stamp(decided.decided_at) is not None
        assert parse_stamp(decided.submitted_at) is not None
    for role in (1, 2):
        await store.quotes.set_reviewer_role(GUILD, role)
        await store.guilds.set_watched_season(GUILD, role)
    schedule = await store.quotes.set_daily(guild_id=GUILD, channel_id=10, local_time="12:00",
                                            timezone="UTC", next_due=now, set_by=1)
    await store.quotes.set_daily(guild_id=GUILD, channel_id=11, local_time="12:00",
                                 timezone="UTC", next_due=now, set_by=1)
    [schedule] = await store.quotes.due_daily(now)
    assert await store.quotes.advance_daily(schedule, next_due=now + timedelta(days=1),
                                            posted_on=now.date())

    # News: subscriptions, an owner post and its deliveries through each outcome.
    subs = [await store.news.subscribe(GUILD, channel, role_id=None, publish=True,
                                       subscribed_by=7, now=now) for channel in (10, 11, 12)]
    published = await store.news.publish(NewsDraft(
        dedupe_key="owner:1", title="Season news", body="", published=now.date().isoformat(),
        origin="owner"), now)
    assert published.deliveries == 3
    jobs = {job.subscription.id: job for job in await store.news.claim_sends(now, 10)}
    await store.news.mark_sent(jobs[subs[0].id].delivery.id, 900, now, then_publish=True)
    [publishing] = await store.news.claim_publishes(now, 10)
    await store.news.mark_published(publishing.delivery.id, now)
    await store.news.retry_later(jobs[subs[1].id].delivery.id, now + timedelta(minutes=1),
                                 "HTTP 500", unsure=True)
    await store.news.fail(jobs[subs[2].id].delivery.id, "HTTP 400", now)
    await store.news.pause(jobs[subs[1].id].delivery.id, subs[1].id, now, "Missing Access", now)
    follows = await store.news.subscribe(GUILD, 13, role_id=None, publish=False, subscribed_by=7,
                                         now=now, mode="follow", webhook_id=99)
    await store.news.follow_checked(follows.id, now)
    await store.quotes.record_daily_post(GUILD, now)
    # Shard slices: the lease that picks the process running the background work.
    leases = LeaseRepository(store.database)
    assert await leases.take(BACKGROUND, "a", "pid 1", None, now, now + timedelta(seconds=15))

    # Feeds: a fetch, a failure, entries seen, posted and held, fingerprints.
    feed = await store.feeds.add("https://fans.example.org/feed", keywords=[], review=False,
                                 added_by=1, now=now)
    await store.feeds.record_fetched(feed.id, now, next_fetch_at=now + timedelta(minutes=15),
                                     etag=None, last_modified=None, title="Fans",
                                     new_entries=True)
    await store.feeds.record_failure(feed.id, now, "HTTP 500", next_fetch_at=now,
                                     disable_after=1, disabled_reason="failed")
    await store.feeds.mark_seen(feed.id, ["guid:0"], "baseline", now)
    item = await store.news.publish(NewsDraft(
        dedupe_key="feed:1", title="From a feed", body="", published="2026-11-25",
        origin="feed"), now)
    await store.feeds.mark_posted(feed.id, ["guid:1"], Fingerprint(item.item.id, "l", "t"), now)
    held = await store.feeds.hold(feed.id, ["guid:2"], HeldDraft(
        "feed:2", "Held", "", None, "2026-11-25", None, None), now)
    assert held is not None and await store.feeds.decide(held, "dropped", by=7, now=now)
    await store.feeds.save_fingerprints([Fingerprint(i.item_id, None, f"title {i.item_id}")
                                         for i in await store.feeds.items_without_fingerprint()])

    times = stored_times(store.path)
    assert not_in_one_format(times) == {}
    # Every time column a feature writes was written (or the check above proves nothing).
    assert [key for key, values in times.items() if not values] == []


async def test_a_row_given_the_old_default_is_put_in_the_one_format(store: Store) -> None:
    before = stamp(datetime.now(UTC))
    await add_canon_quotes(store, ["No time given"])
    async with store.database.transaction() as db:
        await db.execute("INSERT INTO quote_settings (guild_id) VALUES (?)", (GUILD,))
        await db.execute("INSERT INTO quotes (text, speaker_name, created_at)"
                         " VALUES ('Old format given', 'Someone', ?)", (SECONDS,))
    [created, old] = [r[0] for r in await store.database.fetch_all(
        "SELECT created_at FROM quotes ORDER BY id")]
    assert ONE_FORMAT.fullmatch(created) and created[:19] >= before[:19]
    assert old == "2026-11-25T12:00:00.000000Z"
    assert ONE_FORMAT.fullmatch(str(await store.database.fetch_value(
        "SELECT updated_at FROM quote_settings")))
