"""The news feature's records: plain dataclasses its store returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.canon.models import Source


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
    # 'channel' (the bot posts here), 'follow' (the channel follows the hub through Discord's
    # channel following: no deliveries of its own) or 'hub' (NEWS_HUB_CHANNEL_ID itself).
    mode: str = "channel"
    webhook_id: int | None = None  # follow mode: the follower webhook the bot created
    follow_checked_at: datetime | None = None  # when that webhook was last seen to exist
    updated_at: datetime | None = None

    @property
    def follows(self) -> bool:
        return self.mode == "follow"

    @property
    def is_hub(self) -> bool:
        return self.mode == "hub"


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
    # Channels that follow the hub: they get the item from Discord once the hub publishes it.
    following: int = 0
    to_hub: bool = False  # one of the deliveries is the hub's post


@dataclass(frozen=True, slots=True)
class NewsStatus:
    items: dict[str, int]  # by origin
    deliveries: dict[str, int]  # by state
    subscriptions: dict[str, int]  # by state
    oldest_open_at: datetime | None = None  # when the oldest unfinished delivery was queued
    following: int = 0  # active follow-mode subscriptions (Discord delivers to them)
    hub_missed: int = 0  # items the live hub gave up posting or publishing: no follower got them

    @property
    def total_items(self) -> int:
        return sum(self.items.values())
