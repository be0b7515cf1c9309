"""Entries of review-mode feeds wait here for an owner: approved ones become news (through the
same outbox as everything else), dropped ones are remembered so they are not asked again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.feeds.ingest import Publish, refresh_fingerprints
from bot.feeds.models import HeldEntry
from bot.feeds.store import Fingerprint
from bot.feeds.timing import FeedTiming
from bot.news.models import NewsDraft

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    entry: HeldEntry
    # 'posted'; 'dropped'; 'duplicate' (already news: dropped instead); 'decided' (someone
    # decided it first)
    decision: str
    item_id: int | None = None
    deliveries: int = 0


class FeedReview:
    def __init__(self, store: Store, *, publish: Publish, clock: Callable[[], datetime],
                 timing: FeedTiming) -> None:
        self.store = store
        self._publish = publish
        self._clock = clock
        self.timing = timing

    async def next_pending(self, after_id: int = 0) -> HeldEntry | None:
        """The oldest waiting entry after `after_id`, wrapping round to the start."""
        found = await self.store.feeds.pending(1, after_id=after_id)
        if not found and after_id:
            found = await self.store.feeds.pending(1)
        return found[0] if found else None

    async def approve(self, held_id: int, *, by: int) -> ReviewOutcome | None:
        """Publish the entry (None if it no longer exists: its feed was removed)."""
        entry = await self.store.feeds.held_entry(held_id)
        if entry is None:
            return None
        if entry.state != "pending":
            return ReviewOutcome(entry, "decided", entry.item_id)
        now = self._clock()
        await refresh_fingerprints(self.store, now)
        same = await self.store.feeds.find_known(
            entry.link_key, entry.title_key,
            title_since=now - timedelta(seconds=self.timing.title_window))
        if same is not None and same.dedupe_key != entry.dedupe_key:
            # Posted meanwhile by hand or from another feed: sending it again would be a repeat.
            await self.store.feeds.decide(held_id, "dropped", by=by, now=now,
                                          note=f"already news item {same.item_id}")
            return ReviewOutcome(entry, "duplicate", same.item_id)
        published = await self._publish(NewsDraft(
            dedupe_key=entry.dedupe_key, title=entry.title, body=entry.body,
            published=entry.published, origin="feed", url=entry.url))
        decided = await self.store.feeds.decide(
            held_id, "approved", by=by, now=now,
            fingerprint=Fingerprint(published.item.id, entry.link_key, entry.title_key))
        if not decided and not published.created:
            return ReviewOutcome(entry, "decided", published.item.id)
        return ReviewOutcome(entry, "posted", published.item.id, published.deliveries)

    async def drop(self, held_id: int, *, by: int) -> ReviewOutcome | None:
        entry = await self.store.feeds.held_entry(held_id)
        if entry is None:
            return None
        dropped = await self.store.feeds.decide(held_id, "dropped", by=by, now=self._clock())
        return ReviewOutcome(entry, "dropped" if dropped else "decided", entry.item_id)
