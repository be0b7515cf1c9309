"""The feeds feature's records: plain dataclasses its store returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Feed:
    """An RSS or Atom feed the bot follows, and how fetching it is going."""

    id: int
    url: str
    title: str | None  # the feed's own title, once fetched
    keywords: tuple[str, ...]  # an entry must mention one of them; empty: every entry
    review: bool  # entries wait for an owner's approval
    state: str  # 'active' or 'disabled'
    primed: bool  # the first fetch recorded what was there (and posted none of it)
    next_fetch_at: datetime
    created_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_new_at: datetime | None = None
    failures: int = 0  # in a row
    last_error: str | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    added_by: int | None = None
    unreadable_entries: int = 0  # in the last document fetched: left out, the rest went on


@dataclass(frozen=True, slots=True)
class FeedFailure:
    """A failed fetch as recorded: the feed after it, and whether this failure disabled it."""

    feed: Feed
    disabled_now: bool


@dataclass(frozen=True, slots=True)
class HeldEntry:
    """A feed entry waiting for (or given) an owner's decision before it becomes news."""

    id: int
    feed_id: int
    feed_url: str
    feed_title: str | None
    dedupe_key: str
    title: str
    body: str
    url: str | None
    published: str
    link_key: str | None
    title_key: str | None
    state: str  # 'pending', 'approved' or 'dropped'
    created_at: datetime
    item_id: int | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class KnownItem:
    """A news item a feed entry turned out to repeat, and what gave it away."""

    item_id: int
    dedupe_key: str
    title: str
    matched: str  # 'link' or 'title'


@dataclass(frozen=True, slots=True)
class ItemText:
    """What fingerprinting needs of a news item: its title and link."""

    item_id: int
    title: str
    url: str | None
