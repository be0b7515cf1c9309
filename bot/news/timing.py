"""How long the engine waits between tries. One frozen value so tests can shorten every delay
without sleeping for real minutes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeliveryTiming:
    workers: int = 16  # concurrent requests in flight; the pacer, not this, sets the rate
    # 5xx, timeouts, connection errors: 5 s, 10 s, 20 s... up to an hour, then give up.
    retry_base: float = 5.0
    retry_cap: float = 3600.0
    max_attempts: int = 12
    # Lost permissions: 1 min, 2, 4... up to an hour, for as long as the subscription exists,
    # so it resumes by itself once fixed while a channel that stays broken costs Discord one
    # invalid request an hour (Cloudflare bans bots that pile them up).
    pause_base: float = 60.0
    pause_cap: float = 3600.0
    # Crossposts: about 10 per hour per announcement channel (community-reported limit).
    publish_limit: int = 10
    publish_window: float = 3600.0
    publish_max_attempts: int = 6
    request_timeout: float = 60.0  # above the client's max_ratelimit_timeout (30 s)
    idle_poll: float = 30.0  # re-read the outbox this often even when nothing wakes the engine
    # How long after a try Discord's nonce is trusted to catch a re-send. Discord keeps nonces
    # for "a few minutes"; past this, the engine reads the channel back before posting again.
    nonce_trust: float = 120.0
    # Outcomes that could not be written (the database locked, full, failing) are retried at
    # these real-time intervals, never given up.
    record_retry_base: float = 0.25
    record_retry_cap: float = 2.0
    # The dispatcher's own store errors (a claim that met a lock) are retried this soon.
    store_retry: float = 1.0
    # How often the dispatcher looks for in-flight rows nobody works on (real time).
    sweep_every: float = 5.0

    def __post_init__(self) -> None:
        if self.workers < 1 or self.publish_limit < 1 or self.max_attempts < 1:
            raise ValueError("workers, publish_limit and max_attempts must be at least 1")


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential: `base` after the first failed attempt, doubling, never above `cap`.

    No jitter: retries that fall due together still leave at the pacer's rate, so they cannot
    stampede Discord."""
    exponent = min(max(attempt, 1) - 1, 32)
    return min(cap, base * 2**exponent)
