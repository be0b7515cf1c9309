"""Typed results of the store: the rest of the bot never sees a raw row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    title: str
    site: str | None = None
    url: str | None = None

    @property
    def label(self) -> str:
        return self.site or self.title


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    key: str | None
    name: str
    roles: tuple[str, ...] = ()
    description: str | None = None
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Character:
    id: int
    key: str | None
    name: str
    aliases: tuple[str, ...]
    actor: Person | None
    seasons: tuple[int, ...]
    in_film: bool
    description: str | None
    arcs: dict[int, str] = field(default_factory=dict)
    school: str | None = None
    school_detail: str | None = None
    role: str = "other"
    sources: tuple[Source, ...] = ()

    @property
    def first_season(self) -> int | None:
        return min(self.seasons) if self.seasons else None


@dataclass(frozen=True, slots=True)
class Quote:
    id: int
    key: str | None
    text: str
    speaker_name: str
    speaker: Person | None
    outlet: str | None
    said_on: str | None
    season: int | None
    context: str | None
    status: str
    guild_id: int | None
    submitted_by: int | None
    about: tuple[str, ...] = ()  # character names
    sources: tuple[Source, ...] = ()
    source_text: str | None = None
    speaker_plays: tuple[str, ...] = ()  # the characters the speaker plays, if cast


@dataclass(frozen=True, slots=True)
class NewsItem:
    id: int
    dedupe_key: str
    title: str
    body: str
    url: str | None
    season: int | None
    published: str
    origin: str
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Season:
    number: int
    title: str
    status: str
    release_date: str | None
    episode_count: int | None
    episodes: tuple[str, ...]
    new_cast: tuple[Person, ...]
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Film:
    key: str
    title: str
    status: str
    release_year: int | None
    release_date: str | None
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Award:
    key: str
    year: int
    award: str
    result: str
    people: tuple[Person, ...]
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreStats:
    schema_version: int
    sources: int
    people: int
    characters: int
    quotes_canon: int
    quotes_attributed: int
    quotes_approved: int
    quotes_pending: int
    news_items: int
    seasons: int
    films: int
    awards: int

    def as_rows(self) -> list[tuple[str, int]]:
        return [
            ("schema version", self.schema_version),
            ("sources", self.sources),
            ("people", self.people),
            ("characters", self.characters),
            ("quotes (canon)", self.quotes_canon),
            ("quotes with speaker and outlet", self.quotes_attributed),
            ("quotes (approved submissions)", self.quotes_approved),
            ("quotes (pending review)", self.quotes_pending),
            ("news items", self.news_items),
            ("seasons", self.seasons),
            ("films", self.films),
            ("awards", self.awards),
        ]


# ---- news subscriptions and deliveries (bot/store/news.py) ----------------------------------


@dataclass(frozen=True, slots=True)
class NewsDraft:
    """A news item before it is stored; `dedupe_key` makes publishing it twice a no-op."""

    dedupe_key: str
    title: str
    body: str
    published: str  # 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD'
    origin: str  # 'owner' or 'feed': seeded items are history and are never fanned out
    url: str | None = None
    season: int | None = None
    source_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewsSubscription:
    id: int
    guild_id: int
    channel_id: int
    role_id: int | None
    publish: bool
    state: str  # 'active', 'paused' (lost permissions, retrying) or 'ended'
    subscribed_by: int | None
    created_at: datetime
    last_delivery_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class NewsDelivery:
    id: int
    item_id: int
    subscription_id: int
    state: str
    attempts: int
    publish_attempts: int
    next_attempt_at: datetime
    nonce: str
    message_id: int | None = None
    published_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_at: datetime | None = None  # when a worker last took it
    # The earliest moment a try may have reached Discord without the bot learning the outcome.
    unsure_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """One claimed delivery with everything a worker needs to send it."""

    delivery: NewsDelivery
    item: NewsItem
    subscription: NewsSubscription


@dataclass(frozen=True, slots=True)
class Published:
    """The outcome of publishing a draft: the stored item and how many deliveries it queued
    (0 when the dedupe key was already known: nothing new was created)."""

    item: NewsItem
    deliveries: int
    created: bool


@dataclass(frozen=True, slots=True)
class NewsStatus:
    items: dict[str, int]  # by origin
    deliveries: dict[str, int]  # by state
    subscriptions: dict[str, int]  # by state
    oldest_open_at: datetime | None = None  # when the oldest unfinished delivery was queued

    @property
    def total_items(self) -> int:
        return sum(self.items.values())


# ---- quotes feature ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuoteFilter:
    """What `/quote random` was asked for; each distinct filter has its own rotation."""

    person: str | None = None  # a speaker name, matched case-insensitively
    character_id: int | None = None
    season: int | None = None

    @property
    def key(self) -> str:
        """Stable text naming this filter in the rotation tables ('' = no filter)."""
        parts = []
        if self.person is not None:
            parts.append(f"p={' '.join(self.person.casefold().split())}")
        if self.character_id is not None:
            parts.append(f"c={self.character_id}")
        if self.season is not None:
            parts.append(f"s={self.season}")
        return "|".join(parts)


@dataclass(frozen=True, slots=True)
class QuoteDraw:
    quote: Quote
    cycle: int  # 1 for the first pass through the matching quotes, then 2, ...
    new_cycle: bool  # every matching quote had been shown: this draw started the next pass


@dataclass(frozen=True, slots=True)
class QuoteSearchHit:
    quote: Quote
    snippet: str  # part of the quote text, matches between \x01 and \x02


@dataclass(frozen=True, slots=True)
class QuoteSearchPage:
    hits: tuple[QuoteSearchHit, ...]
    total: int  # all matches, or (when capped) as many as were counted
    page: int  # 0-based
    per_page: int
    capped: bool = False  # more match than `total`: counting stopped there
    ranked: bool = True  # best first; False: newest first (too many matches to rank)

    @property
    def page_count(self) -> int:
        """Pages of the counted matches (at least that many when capped)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class QuoteSubmission:
    quote: Quote  # status: pending, approved or rejected
    submitted_at: str
    near_duplicate_of: int | None = None
    reviewer_id: int | None = None
    reason: str | None = None
    decided_at: str | None = None
    dm_status: str = "none"  # none, sent, closed (the member's DMs are off), failed


@dataclass(frozen=True, slots=True)
class DailyQuoteSchedule:
    guild_id: int
    channel_id: int
    local_time: str  # 'HH:MM'
    timezone: str  # IANA name
    next_due: datetime  # aware, UTC
    last_posted_on: date | None  # the server-local date of the last post
    last_error: str | None = None


# ---- feed ingestion (bot/store/feeds.py) -------------------------------------------------------


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
