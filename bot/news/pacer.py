"""One pace for every news request the process makes.

discord.py waits on a bucket only after Discord has answered 429, and every 429 counts toward
Cloudflare's invalid-request ban; a fan-out to thousands of channels must therefore stay under
the global 50 requests/second on its own. A token bucket shared by all workers does that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """At most `capacity + rate * t` acquisitions in any span of `t` seconds.

    With the default capacity of 1 the requests are simply spaced `1 / rate` apart, so any
    one-second window holds at most `rate + 1` of them. Waiters are served first come, first
    served (asyncio.Lock is fair), so no worker starves.
    """

    def __init__(
        self,
        rate: float,
        *,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = asyncio.Lock()
        self.acquired = 0

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                elapsed = max(0.0, now - self._updated)
                self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
                self._updated = now
                # Tolerance: float rounding must not leave a waiter sleeping for 1e-18 s forever.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    self.acquired += 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)
