"""Feeds the bot follows, what each has shown it, entries held for review, and the fingerprints
(normalised link and title) that recognise one story arriving twice.

The poller writes in this order: the news item and its deliveries (NewsRepository.publish, one
transaction), then the entry's "seen" rows here (another). A crash between the two leaves an
entry unseen whose item exists; the next fetch publishes it again under the same dedupe key,
which creates nothing, and then marks it seen. Feed state (etag included) is saved last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.core.database import Database
from bot.core.times import parse_stamp as _parse
from bot.core.times import stamp
from bot.feeds.models import Feed, FeedFailure, HeldEntry, ItemText, KnownItem

# SQLite allows 32766 bound values; stay far below it per statement.
_CHUNK = 500
OUTCOMES = ("baseline", "posted", "duplicate", "filtered", "held", "skipped")


def _feed(r: aiosqlite.Row) -> Feed:
    return Feed(
        id=r["id"], url=r["url"], title=r["title"],
        keywords=tuple(json.loads(r["keywords"] or "[]")), review=bool(r["review"]),
        state=r["state"], primed=bool(r["primed"]),
        next_fetch_at=_parse(r["next_fetch_at"]),
        created_at=_parse(r["created_at"]),
        etag=r["etag"], last_modified=r["last_modified"],
        last_fetch_at=_parse(r["last_fetch_at"]), last_ok_at=_parse(r["last_ok_at"]),
        last_new_at=_parse(r["last_new_at"]), failures=r["failures"],
        last_error=r["last_error"], disabled_reason=r["disabled_reason"],
        disabled_at=_parse(r["disabled_at"]), added_by=r["added_by"],
        unreadable_entries=r["unreadable_entries"],
    )


def _held(r: aiosqlite.Row) -> HeldEntry:
    return HeldEntry(
        id=r["id"], feed_id=r["feed_id"], feed_url=r["feed_url"], feed_title=r["feed_title"],
        dedupe_key=r["dedupe_key"], title=r["title"], body=r["body"], url=r["url"],
        published=r["published"], link_key=r["link_key"], title_key=r["title_key"],
        state=r["state"], created_at=_parse(r["created_at"]),
        item_id=r["item_id"], decided_by=r["decided_by"],
        decided_at=_parse(r["decided_at"]), note=r["note"],
    )


_HELD_SELECT = ("SELECT h.*, f.url AS feed_url, f.title AS feed_title"
                " FROM feed_held_entries h JOIN feeds f ON f.id = h.feed_id")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    item_id: int
    link_key: str | None
    title_key: str | None


@dataclass(frozen=True, slots=True)
class HeldDraft:
    """An entry to hold for review, as it would be published."""

    dedupe_key: str
    title: str
    body: str
    url: str | None
    published: str
    link_key: str | None
    title_key: str | None


async def _mark(db: aiosqlite.Connection, feed_id: int, keys: Iterable[str], outcome: str,
                item_id: int | None, when: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown entry outcome {outcome!r}")
    await db.executemany(
        "INSERT INTO feed_entries (feed_id, key, outcome, item_id, seen_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(feed_id, key) DO NOTHING",
        [(feed_id, key, outcome, item_id, when) for key in keys],
    )


async def _fingerprint(db: aiosqlite.Connection, fp: Fingerprint) -> None:
    # Dated by the item itself, not by when it was fingerprinted: an old item filled in today
    # must not count as a recent headline.
    await db.execute(
        "INSERT INTO news_item_fingerprints (item_id, link_key, title_key, created_at)"
        " SELECT id, ?, ?, created_at"
        " FROM news_items WHERE id = ? ON CONFLICT(item_id) DO NOTHING",
        (fp.link_key, fp.title_key, fp.item_id),
    )


class FeedsRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    # ---- feeds ----------------------------------------------------------------------------

    async def add(self, url: str, *, keywords: Sequence[str], review: bool, added_by: int,
                  now: datetime) -> Feed:
        """Follow `url`, or change how it is followed. A disabled feed starts again from
        scratch: its next fetch records what is there and posts nothing."""
        when = stamp(now)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO feeds (url, keywords, review, next_fetch_at, added_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(url) DO UPDATE SET keywords = excluded.keywords,"
                " review = excluded.review, updated_at = excluded.updated_at,"
                " primed = CASE WHEN state = 'disabled' THEN 0 ELSE primed END,"
                " etag = CASE WHEN state = 'disabled' THEN NULL ELSE etag END,"
                " last_modified = CASE WHEN state = 'disabled' THEN NULL ELSE last_modified END,"
                " failures = CASE WHEN state = 'disabled' THEN 0 ELSE failures END,"
                " next_fetch_at = CASE WHEN state = 'disabled' THEN excluded.next_fetch_at"
                "   ELSE next_fetch_at END,"
                " disabled_reason = NULL, disabled_at = NULL, state = 'active'",
                (url, json.dumps(list(keywords)), int(review), when, added_by, when, when),
            )
        found = await self.feed_by_url(url)
        assert found is not None
        return found

    async def feed(self, feed_id: int) -> Feed | None:
        row = await self._db.fetch_one("SELECT * FROM feeds WHERE id = ?", (feed_id,))
        return None if row is None else _feed(row)

    async def feed_by_url(self, url: str) -> Feed | None:
        row = await self._db.fetch_one("SELECT * FROM feeds WHERE url = ?", (url,))
        return None if row is None else _feed(row)

    async def feeds(self) -> list[Feed]:
        rows = await self._db.fetch_all("SELECT * FROM feeds ORDER BY id")
        return [_feed(r) for r in rows]

    async def due(self, now: datetime, limit: int = 100) -> list[Feed]:
        """Active feeds whose next fetch has come, the longest-waiting first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM feeds WHERE state = 'active' AND next_fetch_at <= ?"
            " ORDER BY next_fetch_at, id LIMIT ?", (stamp(now), limit),
        )
        return [_feed(r) for r in rows]

    async def next_due(self) -> datetime | None:
        value = await self._db.fetch_value(
            "SELECT MIN(next_fetch_at) FROM feeds WHERE state = 'active'")
        return _parse(value)

    async def remove(self, feed_id: int) -> Feed | None:
        """Stop following a feed; what it had shown and held for review goes with it."""
        found = await self.feed(feed_id)
        if found is None:
            return None
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return found

    async def record_fetched(self, feed_id: int, now: datetime, *, next_fetch_at: datetime,
                             etag: str | None, last_modified: str | None,
                             title: str | None, new_entries: bool,
                             unreadable: int | None = None) -> None:
        """A fetch succeeded (200 ingested, or 304): failures reset, validators saved. Called
        only after every entry of the document is stored, so a crash before it refetches.
        `unreadable`: entries of the document left out (None for a 304: as before)."""
        when = stamp(now)
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE feeds SET primed = 1, failures = 0, last_error = NULL,"
                " last_fetch_at = ?, last_ok_at = ?, next_fetch_at = ?,"
                " etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
                " title = coalesce(?, title),"
                " last_new_at = CASE WHEN ? THEN ? ELSE last_new_at END, updated_at = ?,"
                " unreadable_entries = coalesce(?, unreadable_entries)"
                " WHERE id = ?",
                (when, when, stamp(next_fetch_at), etag, last_modified, title,
                 int(new_entries), when, when, unreadable, feed_id),
            )

    async def record_failure(self, feed_id: int, now: datetime, error: str, *,
                             next_fetch_at: datetime, disable_after: int,
                             disabled_reason: str) -> FeedFailure | None:
        """One more failure in a row; at `disable_after` of them the feed is disabled, with
        `disabled_reason`."""
        when = stamp(now)
        async with self._db.transaction() as db:
            before = list(await db.execute_fetchall(
                "SELECT state FROM feeds WHERE id = ?", (feed_id,)))
            if not before:
                return None  # removed while it was being fetched
            await db.execute(
                "UPDATE feeds SET failures = failures + 1, last_error = ?, last_fetch_at = ?,"
                " next_fetch_at = ?, updated_at = ?,"
                " state = CASE WHEN failures + 1 >= ? THEN 'disabled' ELSE state END,"
                " disabled_reason = CASE WHEN failures + 1 >= ? AND state = 'active'"
                "   THEN ? ELSE disabled_reason END,"
                " disabled_at = CASE WHEN failures + 1 >= ? AND state = 'active'"
                "   THEN ? ELSE disabled_at END"
                " WHERE id = ?",
                (error, when, stamp(next_fetch_at), when, disable_after, disable_after,
                 disabled_reason, disable_after,
                 when, feed_id),
            )
        feed = await self.feed(feed_id)
        assert feed is not None
        return FeedFailure(feed, disabled_now=before[0][0] == "active"
                           and feed.state == "disabled")

    # ---- entries seen ---------------------------------------------------------------------

    async def known_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these entry keys this feed has shown before."""
        found: set[str] = set()
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start:start + _CHUNK]
            rows = await self._db.fetch_all(
                f"SELECT key FROM feed_entries WHERE feed_id = ?"
                f" AND key IN ({','.join('?' * len(chunk))})", (feed_id, *chunk),
            )
            found.update(r[0] for r in rows)
        return found

    async def mark_seen(self, feed_id: int, keys: Sequence[str], outcome: str, now: datetime,
                        *, item_id: int | None = None) -> None:
        """Record entries that become nothing new (baseline, filtered, duplicate, skipped)."""
        async with self._db.transaction() as db:
            await _mark(db, feed_id, keys, outcome, item_id, stamp(now))

    async def mark_posted(self, feed_id: int, keys: Sequence[str], fingerprint: Fingerprint,
                          now: datetime) -> None:
        """After the item and its deliveries are committed: the entry is seen, and the item
        can be recognised by link and title from now on."""
        when = stamp(now)
        async with self._db.transaction() as db:
            await _fingerprint(db, fingerprint)
            await _mark(db, feed_id, keys, "posted", fingerprint.item_id, when)
            await db.execute("UPDATE feeds SET last_new_at = ? WHERE id = ?", (when, feed_id))

    async def hold(self, feed_id: int, keys: Sequence[str], draft: HeldDraft,
                   now: datetime) -> int | None:
        """Hold an entry for review and mark it seen, together. None when the same story (its
        dedupe key) is already held or was decided: then it is only marked seen."""
        when = stamp(now)
        async with self._db.transaction() as db:
            async with db.execute(
                "INSERT INTO feed_held_entries (feed_id, dedupe_key, title, body, url, published,"
                " link_key, title_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(dedupe_key) DO NOTHING RETURNING id",
                (feed_id, draft.dedupe_key, draft.title, draft.body, draft.url, draft.published,
                 draft.link_key, draft.title_key, when),
            ) as cursor:
                inserted = await cursor.fetchone()
            await _mark(db, feed_id, keys, "held" if inserted else "duplicate", None, when)
            if inserted:
                await db.execute("UPDATE feeds SET last_new_at = ? WHERE id = ?",
                                 (when, feed_id))
        return None if inserted is None else int(inserted[0])

    # ---- fingerprints ---------------------------------------------------------------------

    async def find_known(self, link_key: str | None, title_key: str | None, *,
                         title_since: datetime) -> KnownItem | None:
        """A news item with this normalised link (any time), or this normalised title (stored
        since `title_since`: a headline can come back years later as new news)."""
        if link_key is not None:
            row = await self._db.fetch_one(
                "SELECT i.id, i.dedupe_key, i.title FROM news_item_fingerprints f"
                " JOIN news_items i ON i.id = f.item_id WHERE f.link_key = ?"
                " ORDER BY i.id LIMIT 1", (link_key,),
            )
            if row is not None:
                return KnownItem(row[0], row[1], row[2], "link")
        if title_key is not None:
            row = await self._db.fetch_one(
                "SELECT i.id, i.dedupe_key, i.title FROM news_item_fingerprints f"
                " JOIN news_items i ON i.id = f.item_id"
                " WHERE f.title_key = ? AND f.created_at >= ? ORDER BY i.id LIMIT 1",
                (title_key, stamp(title_since)),
            )
            if row is not None:
                return KnownItem(row[0], row[1], row[2], "title")
        return None

    async def find_held(self, link_key: str | None, title_key: str | None) -> HeldEntry | None:
        """An entry held (or decided) for review with this normalised link or title."""
        for column, value in (("link_key", link_key), ("title_key", title_key)):
            if value is None:
                continue
            row = await self._db.fetch_one(
                f"{_HELD_SELECT} WHERE h.{column} = ? ORDER BY h.id LIMIT 1", (value,))
            if row is not None:
                return _held(row)
        return None

    async def items_without_fingerprint(self, limit: int = 500) -> list[ItemText]:
        """News items stored by anything but the poller (owner posts, the seed) that have no
        fingerprint yet."""
        rows = await self._db.fetch_all(
            "SELECT i.id, i.title, i.url FROM news_items i"
            " LEFT JOIN news_item_fingerprints f ON f.item_id = i.id"
            " WHERE f.item_id IS NULL ORDER BY i.id LIMIT ?", (limit,),
        )
        return [ItemText(r[0], r[1], r[2]) for r in rows]

    async def save_fingerprints(self, fingerprints: Sequence[Fingerprint]) -> None:
        if not fingerprints:
            return
        async with self._db.transaction() as db:
            for fp in fingerprints:
                await _fingerprint(db, fp)

    # ---- review ---------------------------------------------------------------------------

    async def held_entry(self, held_id: int) -> HeldEntry | None:
        row = await self._db.fetch_one(f"{_HELD_SELECT} WHERE h.id = ?", (held_id,))
        return None if row is None else _held(row)

    async def pending(self, limit: int = 25, *, after_id: int = 0) -> list[HeldEntry]:
        """Entries waiting for review, oldest first (those after `after_id`)."""
        rows = await self._db.fetch_all(
            f"{_HELD_SELECT} WHERE h.state = 'pending' AND h.id > ? ORDER BY h.id LIMIT ?",
            (after_id, limit),
        )
        return [_held(r) for r in rows]

    async def pending_count(self, feed_id: int | None = None) -> int:
        """Entries waiting for review (of one feed, or of all)."""
        value = await self._db.fetch_value(
            "SELECT COUNT(*) FROM feed_held_entries WHERE state = 'pending'"
            " AND (? IS NULL OR feed_id = ?)", (feed_id, feed_id))
        return int(value or 0)

    async def decide(self, held_id: int, state: str, *, by: int, now: datetime,
                     fingerprint: Fingerprint | None = None, note: str | None = None) -> bool:
        """Approve (with the posted item's fingerprint) or drop a pending entry. False if it
        was decided already (two owners, or one pressing twice)."""
        if state not in ("approved", "dropped"):
            raise ValueError(f"an entry is approved or dropped, not {state!r}")
        when = stamp(now)
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE feed_held_entries SET state = ?, decided_by = ?, decided_at = ?,"
                " item_id = ?, note = ? WHERE id = ? AND state = 'pending'",
                (state, by, when, fingerprint.item_id if fingerprint else None, note, held_id),
            )
            if cursor.rowcount == 1 and fingerprint is not None:
                await _fingerprint(db, fingerprint)
            return cursor.rowcount == 1
