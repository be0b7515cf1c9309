"""News subscriptions and the delivery outbox.

Every state change of a delivery is one short transaction, so a crash at any point leaves each
row in a state the engine can resume from: 'sending' and 'publishing' rows whose run of the
engine is gone (or whose worker no longer holds them) are requeued, and sent again with the
nonce they were given when created; `unsure_since` says from when a try may have gone out
unrecorded, so a re-send long after first looks for that post.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

import aiosqlite

from bot.canon.models import Source
from bot.core.cache import ReadCache
from bot.core.database import Database
from bot.core.times import parse_stamp as _parse
from bot.core.times import stamp
from bot.news.models import (
    DeliveryJob,
    NewsDelivery,
    NewsDraft,
    NewsItem,
    NewsStatus,
    NewsSubscription,
    Published,
)

LIVE = ("active", "paused")  # subscriptions that receive news (paused ones once they recover)
# Follow-mode channels get news from Discord (the hub's publish), never from the outbox.
POSTED_TO = "mode IN ('channel', 'hub')"
# Items whose hub post is not yet published: following channels will get them from Discord.
_HUB_UNPUBLISHED = (
    "SELECT hd.item_id FROM news_deliveries hd JOIN news_subscriptions hs"
    " ON hs.id = hd.subscription_id WHERE hs.mode = 'hub' AND hs.state IN ('active', 'paused')"
    " AND hd.state IN ('pending', 'sending', 'publish_pending', 'publishing')"
)
# Why a follow ends when its webhook is found gone.
FOLLOW_REMOVED = ("the follow was removed in Discord (its webhook was deleted in the "
                  "channel's settings)")
# Why a follow ends when the hub it followed is no longer the bot's hub.
HUB_MOVED = "the bot's news hub moved to another channel"
HUB_OFF = "the bot's news hub was turned off"
SWITCHED_TO_FOLLOW = "switched to follow mode"
# The channel's own deliveries that are (or may be) posted there: a follow would add Discord's
# copy of the same item once the hub publishes it.
_POSTED_HERE = ("(d.state IN ('sending', 'publish_pending', 'publishing', 'sent')"
                " OR (d.state = 'pending' AND d.unsure_since IS NOT NULL))")
DELIVERY_STATES = ("pending", "sending", "publish_pending", "publishing", "sent", "failed",
                   "cancelled")
_OPEN = "('pending', 'sending', 'publish_pending', 'publishing')"


def _subscription(r: aiosqlite.Row, prefix: str = "") -> NewsSubscription:
    return NewsSubscription(
        id=r[f"{prefix}id"], guild_id=r[f"{prefix}guild_id"], channel_id=r[f"{prefix}channel_id"],
        role_id=r[f"{prefix}role_id"], publish=bool(r[f"{prefix}publish"]),
        state=r[f"{prefix}state"], subscribed_by=r[f"{prefix}subscribed_by"],
        created_at=_parse(r[f"{prefix}created_at"]),
        last_delivery_at=_parse(r[f"{prefix}last_delivery_at"]),
        last_error=r[f"{prefix}last_error"], last_error_at=_parse(r[f"{prefix}last_error_at"]),
        end_reason=r[f"{prefix}end_reason"], mode=r[f"{prefix}mode"],
        webhook_id=r[f"{prefix}webhook_id"],
        follow_checked_at=_parse(r[f"{prefix}follow_checked_at"]),
        updated_at=_parse(r[f"{prefix}updated_at"]),
    )


def _delivery(r: aiosqlite.Row) -> NewsDelivery:
    return NewsDelivery(
        id=r["id"], item_id=r["item_id"], subscription_id=r["subscription_id"],
        state=r["state"], attempts=r["attempts"], publish_attempts=r["publish_attempts"],
        next_attempt_at=_parse(r["next_attempt_at"]), nonce=r["nonce"],
        message_id=r["message_id"], published_at=_parse(r["published_at"]),
        last_error=r["last_error"], sent_at=_parse(r["sent_at"]),
        claimed_at=_parse(r["claimed_at"]), unsure_since=_parse(r["unsure_since"]),
    )


_SUBSCRIPTION_COLUMNS = ("id", "guild_id", "channel_id", "role_id", "publish", "state",
                         "subscribed_by", "created_at", "last_delivery_at", "last_error",
                         "last_error_at", "end_reason", "mode", "webhook_id",
                         "follow_checked_at", "updated_at")
_ITEM_COLUMNS = ("id", "dedupe_key", "title", "body", "url", "season", "published",
                 "source_keys", "origin")
# A claimed job is one row: the delivery, its item (i_*) and its subscription (s_*).
_JOB_SELECT = (
    "SELECT d.*, "
    + ", ".join(f"i.{c} AS i_{c}" for c in _ITEM_COLUMNS) + ", "
    + ", ".join(f"s.{c} AS s_{c}" for c in _SUBSCRIPTION_COLUMNS)
    + " FROM news_deliveries d JOIN news_items i ON i.id = d.item_id"
    " JOIN news_subscriptions s ON s.id = d.subscription_id"
)


@dataclass(frozen=True, slots=True)
class HubWait:
    """Items already posted in a channel by the bot that the hub has not published yet: a
    follow now would bring each of them a second time, as Discord's copy."""

    items: tuple[tuple[int, str], ...]  # (item id, title), oldest first
    hub_id: int  # the hub's subscription
    ahead: int  # hub publishes still to come, up to and including the last of these items
    hub_next_at: datetime | None  # when the hub's next publish is due, if it waits


class HubBacklog(Exception):
    """A switch to follow mode refused: see `HubWait`."""

    def __init__(self, wait: HubWait) -> None:
        super().__init__(f"{len(wait.items)} items wait for the hub's publish")
        self.wait = wait


class NewsRepository:
    def __init__(self, database: Database, cache: ReadCache) -> None:
        self._db = database
        self._cache = cache

    # ---- items ----------------------------------------------------------------------------

    @staticmethod
    def _item(r: aiosqlite.Row, sources: dict[str, Source], prefix: str = "") -> NewsItem:
        keys = json.loads(r[f"{prefix}source_keys"] or "[]")
        return NewsItem(
            id=r[f"{prefix}id"], dedupe_key=r[f"{prefix}dedupe_key"], title=r[f"{prefix}title"],
            body=r[f"{prefix}body"], url=r[f"{prefix}url"], season=r[f"{prefix}season"],
            published=r[f"{prefix}published"], origin=r[f"{prefix}origin"],
            sources=tuple(sources[k] for k in keys if k in sources),
        )

    async def item(self, item_id: int) -> NewsItem | None:
        row = await self._db.fetch_one("SELECT * FROM news_items WHERE id = ?", (item_id,))
        return None if row is None else self._item(row, await self._cache.sources())

    async def item_by_key(self, dedupe_key: str) -> NewsItem | None:
        row = await self._db.fetch_one("SELECT * FROM news_items WHERE dedupe_key = ?",
                                       (dedupe_key,))
        return None if row is None else self._item(row, await self._cache.sources())

    async def latest(self, limit: int = 1, *, season: int | None = None) -> list[NewsItem]:
        """The newest items first (by published date, then by arrival), or a season's."""
        where, params = ("", ()) if season is None else ("WHERE season = ?", (season,))
        rows = await self._db.fetch_all(
            f"SELECT * FROM news_items {where} ORDER BY published DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        sources = await self._cache.sources()
        return [self._item(r, sources) for r in rows]

    async def publish(self, draft: NewsDraft, now: datetime) -> Published:
        """Store the item and queue one delivery per live subscription, in one transaction.

        Idempotent by `dedupe_key`: a key already stored returns that item and creates nothing.
        """
        if draft.origin not in ("owner", "feed"):
            raise ValueError("only owner posts and feed items are fanned out, not seed history")
        when = stamp(now)
        async with self._db.transaction() as db:
            async with db.execute(
                "INSERT INTO news_items (dedupe_key, title, body, url, season, published,"
                " source_keys, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(dedupe_key) DO NOTHING RETURNING id",
                (draft.dedupe_key, draft.title, draft.body, draft.url, draft.season,
                 draft.published, json.dumps(list(draft.source_keys)), draft.origin,
                 when),
            ) as cursor:
                inserted = await cursor.fetchone()
            count = 0
            if inserted is not None:
                fanned_out = await db.execute(
                    "INSERT INTO news_deliveries (item_id, subscription_id, nonce,"
                    " next_attempt_at, created_at)"
                    " SELECT ?, id, 'n' || lower(hex(randomblob(12))), ?, ?"
                    f" FROM news_subscriptions WHERE state IN {LIVE!r} AND {POSTED_TO}"
                    " ORDER BY id",
                    (inserted[0], when, when),
                )
                count = fanned_out.rowcount
            following = await (await db.execute(
                "SELECT COUNT(*) FROM news_subscriptions WHERE mode = 'follow'"
                " AND state = 'active'")).fetchone()
            hub = await (await db.execute(
                f"SELECT COUNT(*) FROM news_subscriptions WHERE mode = 'hub'"
                f" AND state IN {LIVE!r}")).fetchone()
        item = await self.item_by_key(draft.dedupe_key)
        assert item is not None
        return Published(item=item, deliveries=count, created=inserted is not None,
                         following=following[0] if following else 0,
                         to_hub=bool(hub and hub[0]) and inserted is not None)

    async def enqueue(self, item_id: int, subscription_id: int, now: datetime) -> bool:
        """Queue one item for one subscription (the 'post the latest' offer); False if that
        item was already queued for it, so pressing twice never posts twice."""
        when = stamp(now)
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO news_deliveries (item_id, subscription_id, nonce, next_attempt_at,"
                " created_at) SELECT ?, id, 'n' || lower(hex(randomblob(12))), ?, ?"
                f" FROM news_subscriptions WHERE id = ? AND state IN {LIVE!r} AND {POSTED_TO}"
                " ON CONFLICT(item_id, subscription_id) DO NOTHING",
                (item_id, when, when, subscription_id),
            )
            return cursor.rowcount == 1

    # ---- subscriptions --------------------------------------------------------------------

    async def subscribe(self, guild_id: int, channel_id: int, *, role_id: int | None,
                        publish: bool, subscribed_by: int | None, now: datetime,
                        mode: str = "channel",
                        webhook_id: int | None = None) -> NewsSubscription:
        """Create or renew the channel's subscription (an ended one starts again, active).

        `mode`: 'channel' (posted by the bot), 'follow' (the channel follows the hub through
        `webhook_id`, the follower webhook the bot made) or 'hub'. A switch between 'channel'
        and 'follow' hands over the items in between exactly once: those the hub has yet to
        publish come from Discord after a switch to follow mode (the channel's own delivery
        is cancelled, if not yet started), and from the bot after a switch back (a delivery is
        queued, or the cancelled one comes back). A switch to follow mode raises HubBacklog
        while the bot has posted (or is posting) here an item the hub has yet to publish:
        Discord would copy it in a second time."""
        if mode not in ("channel", "follow", "hub"):
            raise ValueError(f"unknown subscription mode {mode!r}")
        when = stamp(now)
        async with self._db.transaction() as db:
            before = await (await db.execute(
                "SELECT id, mode, state FROM news_subscriptions WHERE channel_id = ?",
                (channel_id,))).fetchone()
            if mode == "follow" and before is not None:
                if before["state"] in LIVE and before["mode"] == "channel":
                    # Posted here and still to be published by the hub: Discord's copy would
                    # be a second one. Checked again here, under the write lock, as a send
                    # may have started since the command looked.
                    wait = await self._hub_wait(db, before["id"])
                    if wait is not None:
                        raise HubBacklog(wait)
                # Items the hub has yet to publish will arrive as Discord's copies: the
                # channel's own deliveries of them that have not started go. A send under
                # way refuses the switch above, and those the hub already published (or
                # never gets) are still posted by the bot, so none is lost or doubled.
                await db.execute(
                    "UPDATE news_deliveries SET state = 'cancelled', last_error = ?"
                    " WHERE subscription_id = ? AND state = 'pending'"
                    f" AND item_id IN ({_HUB_UNPUBLISHED})",
                    (SWITCHED_TO_FOLLOW, before["id"]))
            await db.execute(
                "INSERT INTO news_subscriptions (guild_id, channel_id, role_id, publish, state,"
                " subscribed_by, created_at, updated_at, mode, webhook_id, follow_checked_at)"
                " VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(channel_id) DO UPDATE SET guild_id = excluded.guild_id,"
                " role_id = excluded.role_id, publish = excluded.publish, state = 'active',"
                " subscribed_by = excluded.subscribed_by, updated_at = excluded.updated_at,"
                " end_reason = NULL, mode = excluded.mode, webhook_id = excluded.webhook_id,"
                " follow_checked_at = excluded.follow_checked_at,"
                # A problem of the other mode is no longer this channel's.
                " last_error = CASE WHEN news_subscriptions.mode = excluded.mode"
                "   THEN news_subscriptions.last_error END,"
                " last_error_at = CASE WHEN news_subscriptions.mode = excluded.mode"
                "   THEN news_subscriptions.last_error_at END,"
                " created_at = CASE WHEN news_subscriptions.state = 'ended'"
                "   THEN excluded.created_at ELSE news_subscriptions.created_at END",
                (guild_id, channel_id, role_id, int(publish), subscribed_by, when, when, mode,
                 webhook_id, when if mode == "follow" else None),
            )
            if (mode == "channel" and before is not None and before["mode"] == "follow"
                    and before["state"] in LIVE):
                # Back from follow mode, the follow already removed: what the hub has not
                # published yet would reach the channel by neither way, so the bot posts it.
                await db.execute(
                    "INSERT INTO news_deliveries (item_id, subscription_id, nonce,"
                    " next_attempt_at, created_at)"
                    " SELECT item_id, ?, 'n' || lower(hex(randomblob(12))), ?, ?"
                    f" FROM ({_HUB_UNPUBLISHED}) WHERE true ORDER BY item_id"
                    # The delivery the switch to follow mode cancelled comes back (it keeps
                    # its nonce); one that went out (or failed) stays as it is.
                    " ON CONFLICT(item_id, subscription_id) DO UPDATE SET state = 'pending',"
                    " next_attempt_at = excluded.next_attempt_at, attempts = 0,"
                    " publish_attempts = 0, last_error = NULL, claimed_by = NULL"
                    " WHERE news_deliveries.state = 'cancelled'",
                    (before["id"], when, when))
        found = await self.subscription(channel_id)
        assert found is not None
        return found

    async def hub_wait(self, channel_id: int) -> HubWait | None:
        """What keeps this channel from switching to follow mode now (None: nothing)."""
        sub = await self.subscription(channel_id)
        if sub is None or sub.mode != "channel" or sub.state not in LIVE:
            return None
        return await self._hub_wait(self._db.reader, sub.id)

    @staticmethod
    async def _hub_wait(db: aiosqlite.Connection, subscription_id: int) -> HubWait | None:
        rows = list(await db.execute_fetchall(
            "SELECT d.item_id, i.title FROM news_deliveries d"
            " JOIN news_items i ON i.id = d.item_id"
            f" WHERE d.subscription_id = ? AND {_POSTED_HERE}"
            f" AND d.item_id IN ({_HUB_UNPUBLISHED}) ORDER BY d.item_id",
            (subscription_id,)))
        if not rows:
            return None
        last = rows[-1][0]
        hub = list(await db.execute_fetchall(
            "SELECT hd.subscription_id,"
            "  SUM(hd.item_id <= ?),"
            # Only the hub's first waiting publish is ever put off; the rest keep their
            # time of posting.
            "  MAX(CASE WHEN hd.state = 'publish_pending' THEN hd.next_attempt_at END)"
            " FROM news_deliveries hd JOIN news_subscriptions hs ON hs.id = hd.subscription_id"
            f" WHERE hs.mode = 'hub' AND hs.state IN {LIVE!r} AND hd.state IN {_OPEN}"
            " GROUP BY hd.subscription_id ORDER BY hd.subscription_id LIMIT 1", (last,)))
        hub_id, ahead, next_at = hub[0] if hub else (0, len(rows), None)
        return HubWait(items=tuple((r[0], r[1]) for r in rows), hub_id=hub_id,
                       ahead=int(ahead or len(rows)), hub_next_at=_parse(next_at))

    @staticmethod
    async def _cancel_open(db: aiosqlite.Connection, where: str, params: tuple,
                           reason: str) -> None:
        """What the outbox still holds for these subscriptions goes: unsent deliveries are
        cancelled, and a post already made is not published."""
        ids = f"SELECT id FROM news_subscriptions WHERE {where}"
        await db.execute(
            "UPDATE news_deliveries SET state = 'cancelled', last_error = ?"
            f" WHERE subscription_id IN ({ids}) AND state IN ('pending', 'sending')",
            (reason, *params),
        )
        await db.execute(
            "UPDATE news_deliveries SET state = 'sent', last_error = ?"
            f" WHERE subscription_id IN ({ids}) AND state IN ('publish_pending', 'publishing')",
            (f"not published: {reason}", *params),
        )

    # ---- the hub and follows --------------------------------------------------------------

    async def ensure_hub(self, guild_id: int, channel_id: int, now: datetime) -> NewsSubscription:
        """The hub (NEWS_HUB_CHANNEL_ID) is a subscription like any other, publishing each
        post, so its posts go through the same outbox; any earlier hub channel ends."""
        await self.end_hubs("NEWS_HUB_CHANNEL_ID now names another channel", now,
                            keep=channel_id)
        current = await self.subscription(channel_id)
        if current is not None and current.is_hub and current.state in LIVE:
            return current
        return await self.subscribe(guild_id, channel_id, role_id=None, publish=True,
                                    subscribed_by=None, now=now, mode="hub")

    async def end_hubs(self, reason: str, now: datetime, *, keep: int | None = None) -> int:
        """End every hub subscription but the channel `keep` (the setting was changed or
        removed); what it had not yet posted or published is dropped."""
        when = stamp(now)
        async with self._db.transaction() as db:
            ended = await self._end(db, "mode = 'hub' AND channel_id != ?", (keep or 0,),
                                    reason, when)
            if ended or keep is None:
                # Their follows were of the old hub, which the bot no longer posts in: kept
                # 'active', they would look fine and never get news again.
                await self._end(db, "mode = 'follow'", (), HUB_MOVED if keep else HUB_OFF,
                                when)
            return ended

    async def follows_due(self, checked_before: datetime, limit: int) -> list[NewsSubscription]:
        """Active follow-mode subscriptions whose webhook was last seen before then, the
        longest unchecked first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM news_subscriptions WHERE mode = 'follow' AND state = 'active'"
            " AND (follow_checked_at IS NULL OR follow_checked_at < ?)"
            " ORDER BY follow_checked_at, id LIMIT ?", (stamp(checked_before), limit))
        return [_subscription(r) for r in rows]

    async def follow_checked(self, subscription_id: int, now: datetime,
                             problem: str | None = None) -> None:
        """The follower webhook was looked for: found (problem None), or it could not be
        checked (the problem, shown in /news subscriptions)."""
        at = stamp(now)
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE news_subscriptions SET follow_checked_at = ?, last_error = ?,"
                " last_error_at = CASE WHEN ? IS NULL THEN NULL ELSE ? END"
                " WHERE id = ? AND mode = 'follow'",
                (at, problem, problem, at, subscription_id),
            )

    async def ended_follows(self, guild_id: int, since: datetime) -> list[NewsSubscription]:
        """This server's follows that ended since then for a reason other than its own
        unsubscribe (a webhook deleted by hand): shown, so nobody believes they still work."""
        rows = await self._db.fetch_all(
            "SELECT * FROM news_subscriptions WHERE guild_id = ? AND mode = 'follow'"
            " AND state = 'ended' AND coalesce(end_reason, '') != 'unsubscribed'"
            " AND updated_at >= ? ORDER BY id", (guild_id, stamp(since)))
        return [_subscription(r) for r in rows]

    async def forget_role(self, guild_id: int, role_id: int, now: datetime) -> int:
        """The ping role was deleted: posts go on without a ping."""
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE news_subscriptions SET role_id = NULL, updated_at = ?"
                " WHERE guild_id = ? AND role_id = ?", (stamp(now), guild_id, role_id),
            )
            return cursor.rowcount

    async def subscription(self, channel_id: int) -> NewsSubscription | None:
        row = await self._db.fetch_one(
            "SELECT * FROM news_subscriptions WHERE channel_id = ?", (channel_id,)
        )
        return None if row is None else _subscription(row)

    async def subscriptions(self, guild_id: int) -> list[NewsSubscription]:
        """This server's live subscriptions (ended ones are history)."""
        rows = await self._db.fetch_all(
            f"SELECT * FROM news_subscriptions WHERE guild_id = ? AND state IN {LIVE!r}"
            " ORDER BY id", (guild_id,)
        )
        return [_subscription(r) for r in rows]

    async def _end(self, db: aiosqlite.Connection, where: str, params: tuple, reason: str,
                   when: str) -> int:
        ids = [r[0] for r in await db.execute_fetchall(
            f"SELECT id FROM news_subscriptions WHERE state IN {LIVE!r} AND {where}", params
        )]
        for sid in ids:
            await db.execute(
                "UPDATE news_subscriptions SET state = 'ended', end_reason = ?, updated_at = ?"
                " WHERE id = ?", (reason, when, sid),
            )
            # Already posted: only the crosspost is dropped; the post itself went out.
            await self._cancel_open(db, "id = ?", (sid,), reason)
        return len(ids)

    async def unsubscribe(self, guild_id: int, channel_id: int, now: datetime) -> bool:
        async with self._db.transaction() as db:
            return await self._end(db, "guild_id = ? AND channel_id = ?", (guild_id, channel_id),
                                   "unsubscribed", stamp(now)) > 0

    async def end_channel(self, channel_id: int, reason: str, now: datetime) -> bool:
        async with self._db.transaction() as db:
            return await self._end(db, "channel_id = ?", (channel_id,), reason, stamp(now)) > 0

    async def end_guild(self, guild_id: int, reason: str, now: datetime) -> int:
        async with self._db.transaction() as db:
            return await self._end(db, "guild_id = ?", (guild_id,), reason, stamp(now))

    async def subscribed_guilds(self) -> set[int]:
        """Every server with a live subscription."""
        rows = await self._db.fetch_all(
            f"SELECT DISTINCT guild_id FROM news_subscriptions WHERE state IN {LIVE!r}")
        return {r[0] for r in rows}

    async def end_follow(self, subscription_id: int, webhook_id: int | None, reason: str,
                         now: datetime) -> bool:
        """End a follow found broken, only if the subscription still is that follow: a check
        that read it before the channel switched back to per-channel posts (or followed anew,
        with another webhook), maybe in another process, must not end what replaced it."""
        async with self._db.transaction() as db:
            return await self._end(db, "id = ? AND mode = 'follow' AND webhook_id IS ?",
                                   (subscription_id, webhook_id), reason, stamp(now)) > 0

    async def end_subscription(self, subscription_id: int, reason: str, now: datetime) -> bool:
        async with self._db.transaction() as db:
            return await self._end(db, "id = ?", (subscription_id,), reason, stamp(now)) > 0

    # ---- the outbox -----------------------------------------------------------------------

    async def requeue_in_flight(self, now: datetime) -> int:
        """At start: whatever was in flight when the process stopped goes back in the queue.
        The nonce stays, so a message that did reach Discord within the nonce window is not
        created twice; `unsure_since` marks that a try may have gone out, for later."""
        async with self._db.transaction() as db:
            return await self._requeue(db, "state IN ('sending', 'publishing')", (), now)

    @staticmethod
    async def _requeue(db: aiosqlite.Connection, where: str, params: tuple,
                       now: datetime) -> int:
        # A send whose claim time is unknown (claimed before this column existed) may have gone
        # out any time since the row was created.
        sends = await db.execute(
            "UPDATE news_deliveries SET state = 'pending', next_attempt_at = ?,"
            " unsure_since = coalesce(unsure_since, claimed_at, created_at),"
            " claimed_by = NULL"
            f" WHERE state = 'sending' AND ({where})", (stamp(now), *params))
        # A crosspost done twice is harmless (Discord answers 'already crossposted').
        publishes = await db.execute(
            "UPDATE news_deliveries SET state = 'publish_pending', claimed_by = NULL"
            f" WHERE state = 'publishing' AND ({where})", params)
        return sends.rowcount + publishes.rowcount

    async def recover_abandoned(self, run: str, held: set[int], now: datetime,
                                stale_before: datetime) -> int:
        """In-flight rows nobody is working on, back in the queue while the bot runs: this
        run's that no worker holds (a write that failed, a bug), and other runs' claimed before
        `stale_before` (a process that died while this one runs)."""
        rows = await self._db.fetch_all(
            "SELECT id, claimed_by, claimed_at FROM news_deliveries"
            " WHERE state IN ('sending', 'publishing')")
        cutoff = stamp(stale_before)
        ids = [r["id"] for r in rows
               if (r["id"] not in held if r["claimed_by"] == run
                   else (r["claimed_at"] or "") <= cutoff)]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        async with self._db.transaction() as db:
            return await self._requeue(db, f"id IN ({marks})", tuple(ids), now)

    async def _claim(self, waiting: str, claimed: str, counter: str, now: datetime,
                     limit: int, run: str | None) -> list[DeliveryJob]:
        # One delivery per subscription at a time, oldest first: posts arrive in order, and a
        # paused channel holds back only its own queue.
        async with self._db.transaction() as db:
            rows = await db.execute_fetchall(
                f"{_JOB_SELECT} JOIN (SELECT subscription_id, MIN(id) AS head"
                "   FROM news_deliveries WHERE state IN (?, ?) GROUP BY subscription_id) q"
                "   ON q.head = d.id"
                " WHERE d.state = ? AND d.next_attempt_at <= ?"
                " AND s.state IN ('active', 'paused')"
                " ORDER BY d.next_attempt_at, d.id LIMIT ?",
                (waiting, claimed, waiting, stamp(now), limit),
            )
            when = stamp(now)
            await db.executemany(
                f"UPDATE news_deliveries SET state = ?, {counter} = {counter} + 1,"
                " claimed_at = ?, claimed_by = ? WHERE id = ?",
                [(claimed, when, run, r["id"]) for r in rows],
            )
        if not rows:
            return []
        sources = await self._cache.sources()
        jobs = []
        for r in rows:
            d = _delivery(r)
            d = replace(d, state=claimed, claimed_at=now,
                        **{counter: getattr(d, counter) + 1})
            jobs.append(DeliveryJob(d, self._item(r, sources, "i_"), _subscription(r, "s_")))
        return jobs

    async def claim_sends(self, now: datetime, limit: int,
                          run: str | None = None) -> list[DeliveryJob]:
        """Due deliveries, marked 'sending' (by `run`, the engine's token) before any request
        is made."""
        return await self._claim("pending", "sending", "attempts", now, limit, run)

    async def claim_publishes(self, now: datetime, limit: int,
                              run: str | None = None) -> list[DeliveryJob]:
        """Sent posts due for a crosspost, marked 'publishing'."""
        return await self._claim("publish_pending", "publishing", "publish_attempts", now, limit,
                                 run)

    async def next_due(self) -> datetime | None:
        """When the next claimable delivery falls due (it may be in the past). Only the head
        of each channel's queue counts: the rows behind it wait for it, not for the clock."""
        value = await self._db.fetch_value(
            "SELECT MIN(d.next_attempt_at) FROM news_deliveries d JOIN ("
            "  SELECT MIN(id) AS head FROM news_deliveries"
            "   WHERE state IN ('pending', 'sending') GROUP BY subscription_id"
            "  UNION ALL SELECT MIN(id) FROM news_deliveries"
            "   WHERE state IN ('publish_pending', 'publishing') GROUP BY subscription_id"
            ") q ON q.head = d.id WHERE d.state IN ('pending', 'publish_pending')"
        )
        return _parse(value)

    async def mark_sent(self, delivery_id: int, message_id: int, now: datetime, *,
                        then_publish: bool) -> None:
        """Posted. A paused subscription that could post again is active again."""
        when = stamp(now)
        async with self._db.transaction() as db:
            # Every outcome write is guarded by the state the worker claimed, so a subscription
            # ended meanwhile (its rows 'cancelled') is never brought back to life. A post that
            # did go out is still recorded as sent, but is not published. (A switch to follow
            # mode cancels only rows no worker has claimed, and is refused while one is being
            # sent, so only an end of the subscription meets a row here.)
            await db.execute(
                "UPDATE news_deliveries SET state = CASE WHEN state = 'sending' AND ?"
                " THEN 'publish_pending' ELSE 'sent' END, message_id = ?, sent_at = ?,"
                " next_attempt_at = ?, last_error = NULL, unsure_since = NULL"
                " WHERE id = ? AND state IN ('sending', 'cancelled')",
                (int(then_publish), message_id, when, when, delivery_id),
            )
            await db.execute(
                "UPDATE news_subscriptions SET last_delivery_at = ?, updated_at = ?,"
                " state = CASE state WHEN 'paused' THEN 'active' ELSE state END"
                " WHERE id = (SELECT subscription_id FROM news_deliveries WHERE id = ?)",
                (when, when, delivery_id),
            )

    async def mark_published(self, delivery_id: int, now: datetime, *,
                             published: bool = True, note: str | None = None) -> None:
        """The crosspost step is over: published (or already was), or given up with a note."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE news_deliveries SET state = 'sent', published_at = ?, last_error = ?"
                " WHERE id = ? AND state = 'publishing'",
                (stamp(now) if published else None, note, delivery_id),
            )

    async def retry_later(self, delivery_id: int, when: datetime, error: str | None, *,
                          publishing: bool = False, refund: bool = False,
                          unsure: bool = False) -> None:
        """Back in the queue until `when`. `refund`: this try does not count as an attempt
        (the request was never made, e.g. the publish budget or a long rate limit said wait).
        `unsure`: the try may have reached Discord all the same (a timeout, a 5xx)."""
        state = "publish_pending" if publishing else "pending"
        claimed = "publishing" if publishing else "sending"
        counter = "publish_attempts" if publishing else "attempts"
        async with self._db.transaction() as db:
            await db.execute(
                f"UPDATE news_deliveries SET state = ?, next_attempt_at = ?, last_error = ?,"
                f" {counter} = {counter} - ?, unsure_since = CASE WHEN ?"
                " THEN coalesce(unsure_since, claimed_at) ELSE unsure_since END"
                " WHERE id = ? AND state = ?",
                (state, stamp(when), error, int(refund), int(unsure), delivery_id, claimed),
            )

    async def pause(self, delivery_id: int, subscription_id: int, when: datetime, error: str,
                    now: datetime) -> bool:
        """The bot lost access: the delivery waits, the subscription is paused. True when this
        is what paused it (so the server is told once, not at every retry)."""
        at = stamp(now)
        async with self._db.transaction() as db:
            # A paused try is not an attempt: after a long outage, the first passing error once
            # access is back must not use up the retry allowance.
            await db.execute(
                "UPDATE news_deliveries SET state = 'pending', next_attempt_at = ?, last_error = ?,"
                " attempts = MAX(attempts - 1, 0) WHERE id = ? AND state = 'sending'",
                (stamp(when), error, delivery_id),
            )
            cursor = await db.execute(
                "UPDATE news_subscriptions SET state = 'paused', updated_at = ?"
                " WHERE id = ? AND state = 'active'", (at, subscription_id),
            )
            await db.execute(
                "UPDATE news_subscriptions SET last_error = ?, last_error_at = ? WHERE id = ?",
                (error, at, subscription_id),
            )
            return cursor.rowcount == 1

    async def fail(self, delivery_id: int, error: str, now: datetime) -> None:
        """Given up: the request itself was wrong, or it kept failing."""
        at = stamp(now)
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE news_deliveries SET state = 'failed', last_error = ?"
                " WHERE id = ? AND state IN ('sending', 'publishing')",
                (error, delivery_id),
            )
            await db.execute(
                "UPDATE news_subscriptions SET last_error = ?, last_error_at = ?"
                " WHERE id = (SELECT subscription_id FROM news_deliveries WHERE id = ?)",
                (error, at, delivery_id),
            )

    async def retry_now(self, subscription_ids: list[int], now: datetime) -> int:
        """Make these subscriptions' waiting deliveries due now (their permissions were
        fixed); returns how many were waiting."""
        if not subscription_ids:
            return 0
        marks = ",".join("?" * len(subscription_ids))
        async with self._db.transaction() as db:
            cursor = await db.execute(
                "UPDATE news_deliveries SET next_attempt_at = ?"
                f" WHERE state = 'pending' AND subscription_id IN ({marks})"
                " AND next_attempt_at > ?",
                (stamp(now), *subscription_ids, stamp(now)),
            )
            return cursor.rowcount

    async def publish_times(self, subscription_id: int, since: datetime) -> list[datetime]:
        """When this channel's posts were crossposted, from `since` on (the publish budget)."""
        rows = await self._db.fetch_all(
            "SELECT published_at FROM news_deliveries WHERE subscription_id = ?"
            " AND published_at IS NOT NULL AND published_at >= ? ORDER BY published_at",
            (subscription_id, stamp(since)),
        )
        return [_parse(r[0]) for r in rows]

    # ---- reading --------------------------------------------------------------------------

    async def deliveries(self, *, item_id: int | None = None,
                         subscription_id: int | None = None) -> list[NewsDelivery]:
        clauses, params = [], []
        if item_id is not None:
            clauses.append("item_id = ?")
            params.append(item_id)
        if subscription_id is not None:
            clauses.append("subscription_id = ?")
            params.append(subscription_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.fetch_all(f"SELECT * FROM news_deliveries {where} ORDER BY id",
                                        tuple(params))
        return [_delivery(r) for r in rows]

    async def open_deliveries(self) -> int:
        """Deliveries not yet finished, in any waiting or in-flight state."""
        value = await self._db.fetch_value(
            f"SELECT COUNT(*) FROM news_deliveries WHERE state IN {_OPEN}"
        )
        return int(value or 0)

    async def status(self) -> NewsStatus:
        items = await self._db.fetch_all(
            "SELECT origin, COUNT(*) FROM news_items GROUP BY origin")
        deliveries = await self._db.fetch_all(
            "SELECT state, COUNT(*) FROM news_deliveries GROUP BY state")
        subscriptions = await self._db.fetch_all(
            "SELECT state, COUNT(*) FROM news_subscriptions GROUP BY state")
        oldest = await self._db.fetch_value(
            f"SELECT MIN(created_at) FROM news_deliveries WHERE state IN {_OPEN}")
        following = await self._db.fetch_value(
            "SELECT COUNT(*) FROM news_subscriptions WHERE mode = 'follow' AND state = 'active'")
        # Items the live hub posted but gave up publishing (or never posted).
        hub_missed = await self._db.fetch_value(
            "SELECT COUNT(*) FROM news_deliveries d JOIN news_subscriptions s"
            " ON s.id = d.subscription_id WHERE s.mode = 'hub' AND s.state IN ('active',"
            " 'paused') AND (d.state = 'failed' OR (d.state = 'sent' AND d.published_at IS NULL))")
        return NewsStatus(
            following=int(following or 0),
            hub_missed=int(hub_missed or 0),
            items={r[0]: r[1] for r in items},
            deliveries={s: 0 for s in DELIVERY_STATES} | {r[0]: r[1] for r in deliveries},
            subscriptions={s: 0 for s in ("active", "paused", "ended")}
            | {r[0]: r[1] for r in subscriptions},
            oldest_open_at=_parse(oldest),
        )
