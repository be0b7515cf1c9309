"""How often feeds are fetched, how long a fetch may take and how much it may read, and how the
poller backs off. One frozen value, so tests shrink every delay without sleeping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedTiming:
    interval: float = 900.0  # seconds between fetches of a healthy feed
    fetch_timeout: float = 30.0  # a whole fetch, redirects and body included
    connect_timeout: float = 10.0
    max_bytes: int = 2 * 1024 * 1024  # a feed document larger than this is refused
    max_redirects: int = 5
    # Failures: the interval, doubled at each failure in a row, up to the cap; after
    # `max_failures` in a row the feed is disabled and the owners are told.
    backoff_cap: float = 6 * 3600.0
    max_failures: int = 10
    max_entries: int = 200  # entries read per document (newest first, as feeds list them)
    # A feed that suddenly shows many unseen entries (a site migration, new guids for old
    # stories) posts only the newest few; the rest are recorded as seen.
    max_new_per_fetch: int = 5
    title_window: float = 14 * 86400.0  # a headline seen within this is the same story
    concurrency: int = 4  # feeds fetched at once
    tick: float = 60.0  # the background loop looks for due feeds at least this often
    first_look: float = 10.0  # after start-up, before the first round

    @classmethod
    def every(cls, interval: float) -> FeedTiming:
        """The defaults around a polling interval (FEED_POLL_SECONDS): the background loop
        looks at least as often as a feed falls due, and the first round waits no longer."""
        defaults = cls()
        return cls(interval=interval, tick=min(defaults.tick, interval),
                   first_look=min(defaults.first_look, interval))

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.fetch_timeout <= 0 or self.max_bytes < 1:
            raise ValueError("interval, fetch_timeout and max_bytes must be positive")
        if self.max_failures < 1 or self.concurrency < 1 or self.max_new_per_fetch < 1:
            raise ValueError("max_failures, concurrency and max_new_per_fetch must be at least 1")


def feed_backoff(failures: int, timing: FeedTiming) -> float:
    """Seconds until the next try after `failures` failures in a row."""
    exponent = min(max(failures, 1) - 1, 32)
    return min(max(timing.backoff_cap, timing.interval), timing.interval * 2**exponent)
