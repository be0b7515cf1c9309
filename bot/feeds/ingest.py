"""One parsed document into news: what is new is filtered, checked against every news item the
bot already has, then published (or held for review), and only then marked seen.

The first document of a feed is only recorded: following a feed never floods channels with its
back catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.feeds.dedupe import EntryIdentity, identify, title_key
from bot.feeds.filters import mentions_any
from bot.feeds.models import Feed
from bot.feeds.parser import FeedEntry, ParsedFeed
from bot.feeds.store import Fingerprint, HeldDraft
from bot.feeds.timing import FeedTiming
from bot.feeds.urls import link_key
from bot.news.models import NewsDraft, Published

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store

log = logging.getLogger(__name__)

Publish = Callable[[NewsDraft], Awaitable[Published]]


@dataclass
class IngestReport:
    baseline: int = 0  # entries recorded by a feed's first fetch (nothing posted)
    posted: list[int] = field(default_factory=list)  # news item ids
    held: int = 0
    duplicates: int = 0  # already news (from another feed, or posted by hand)
    filtered: int = 0  # mentioned none of the feed's keywords
    skipped: int = 0  # beyond the per-fetch cap
    known: int = 0  # seen at an earlier fetch

    @property
    def new_entries(self) -> bool:
        return bool(self.posted or self.held)


async def refresh_fingerprints(store: Store, now: datetime, batch: int = 500) -> int:
    """Fingerprint news items stored without one (owner posts, the seed), so feeds recognise
    them. Cheap when there is nothing to do: one indexed query."""
    done = 0
    while True:
        items = await store.feeds.items_without_fingerprint(batch)
        await store.feeds.save_fingerprints(
            [Fingerprint(i.item_id, link_key(i.url), title_key(i.title)) for i in items])
        done += len(items)
        if len(items) < batch:
            return done


def _draft(entry: FeedEntry, ident: EntryIdentity, now: datetime) -> NewsDraft:
    today = now.date()
    published: date = min(entry.published, today) if entry.published else today
    return NewsDraft(dedupe_key=ident.dedupe_key, title=entry.title, body=entry.summary,
                     published=published.isoformat(), origin="feed", url=entry.link)


def _newest_first(fresh: list[tuple[FeedEntry, EntryIdentity]]) -> list[tuple[FeedEntry,
                                                                              EntryIdentity]]:
    # Stable: entries without a date keep the document's order, which is newest first.
    return sorted(fresh, key=lambda pair: pair[0].published or date.min, reverse=True)


async def ingest(store: Store, feed: Feed, parsed: ParsedFeed, *, publish: Publish,
                 now: datetime, timing: FeedTiming) -> IngestReport:
    report = IngestReport()
    identities = identify(feed.id, parsed.entries)
    in_document: set[str] = set()
    pairs: list[tuple[FeedEntry, EntryIdentity]] = []
    for entry, ident in zip(parsed.entries, identities, strict=True):
        if in_document.intersection(ident.match_keys):
            continue  # the same entry twice in one document
        in_document.update(ident.match_keys)
        pairs.append((entry, ident))

    feeds = store.feeds
    known = await feeds.known_keys(feed.id, [k for _, i in pairs for k in i.keys])
    if not feed.primed:
        await feeds.mark_seen(feed.id, [k for _, i in pairs for k in i.keys], "baseline", now)
        report.baseline = len(pairs)
        return report

    fresh: list[tuple[FeedEntry, EntryIdentity]] = []
    new_aliases: list[str] = []
    for entry, ident in pairs:
        if known.intersection(ident.match_keys):
            report.known += 1
            # A known entry showing a new guid or link: remember that too, so a later change
            # of the other one is still recognised.
            new_aliases.extend(k for k in ident.keys if k not in known)
        else:
            fresh.append((entry, ident))
    if new_aliases:
        await feeds.mark_seen(feed.id, new_aliases, "duplicate", now)

    ordered = _newest_first(fresh)
    kept, beyond = ordered[:timing.max_new_per_fetch], ordered[timing.max_new_per_fetch:]
    if beyond:
        log.info("feed %s shows %d unseen entries at once; posting the newest %d", feed.id,
                 len(ordered), len(kept))
        await feeds.mark_seen(feed.id, [k for _, i in beyond for k in i.keys], "skipped", now)
        report.skipped = len(beyond)

    title_since = now - timedelta(seconds=timing.title_window)
    for entry, ident in reversed(kept):  # oldest first, so posts arrive in order
        if not mentions_any(entry, feed.keywords):
            await feeds.mark_seen(feed.id, ident.keys, "filtered", now)
            report.filtered += 1
            continue
        same = await feeds.find_known(ident.link_key, ident.title_key, title_since=title_since)
        if same is not None and same.dedupe_key == ident.dedupe_key:
            # Published at an earlier fetch that stopped before marking it seen.
            await feeds.mark_posted(feed.id, ident.keys, Fingerprint(
                same.item_id, ident.link_key, ident.title_key), now)
            report.duplicates += 1
            continue
        if same is not None:
            log.info("feed %s entry repeats news item %s (same %s)", feed.id, same.item_id,
                     same.matched)
            await feeds.mark_seen(feed.id, ident.keys, "duplicate", now, item_id=same.item_id)
            report.duplicates += 1
            continue
        draft = _draft(entry, ident, now)
        if feed.review:
            if await feeds.find_held(ident.link_key, ident.title_key) is not None:
                await feeds.mark_seen(feed.id, ident.keys, "duplicate", now)
                report.duplicates += 1
                continue
            held = await feeds.hold(feed.id, ident.keys, HeldDraft(
                dedupe_key=draft.dedupe_key, title=draft.title, body=draft.body, url=draft.url,
                published=draft.published, link_key=ident.link_key, title_key=ident.title_key,
            ), now)
            if held is None:
                report.duplicates += 1
            else:
                report.held += 1
            continue
        published = await publish(draft)
        # Only now, with the item and its deliveries committed, is the entry seen.
        await feeds.mark_posted(feed.id, ident.keys, Fingerprint(
            published.item.id, ident.link_key, ident.title_key), now)
        if published.created:
            report.posted.append(published.item.id)
        else:
            report.duplicates += 1
    return report
