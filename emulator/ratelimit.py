"""Rate limits a well-behaved bot must survive: the global 50 requests/second per token and the
(community-reported) 10 publishes per hour per announcement channel.

Answers are shaped exactly like Discord's 429 (a `Via` header, JSON `retry_after`, scope
header), because discord.py treats a 429 without `Via` as a Cloudflare ban and gives up.
"""

from __future__ import annotations

import math
from collections import deque

from .clock import Clock
from .errors import ApiError


class SlidingWindow:
    def __init__(self, clock: Clock, limit: int, window: float) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._hits: dict[object, deque[float]] = {}

    def hit(self, key: object) -> float | None:
        """Count one use; return seconds until the next allowed use if over the limit."""
        now = self.clock.now()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        return None


def too_many_requests(retry_after: float, *, is_global: bool, scope: str) -> ApiError:
    retry_after = math.ceil(retry_after * 1000) / 1000
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Scope": scope,
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    extra = {"retry_after": retry_after, "global": is_global}
    return ApiError(429, 0, "You are being rate limited.", headers=headers, extra=extra)
