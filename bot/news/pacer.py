"""One pace for every news request the process makes.

discord.py waits on a bucket only after Discord has answered 429, and every 429 counts toward
Cloudflare's invalid-request ban; a fan-out to thousands of channels must therefore stay under
the global 50 requests/second on its own. A token bucket shared by all workers does that.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable


class TokenBucket:
    """At most `capacity + rate * t` acquisitions in any span of `t` seconds.

    With the default capacity of 1 the requests are simply spaced `1 / rate` apart, so any
    one-second window holds at most `rate + 1` of them. Waiters are served first come, first
    served (asyncio.Lock is fair), so no worker starves. Slots follow a fixed schedule: the event
    loop wakes a sleeper a little late (about a millisecond when busy), and the next slot is
    still `1 / rate` after the previous slot, not after that late wake-up; counting from the
    wake-up lost that millisecond on every request, about 4% of the pace at 45/s. After a long
    stall the schedule may let two requests go close together, so the last second's grants are
    also counted: never more than `capacity - 1 + rate` of them within one second (at 50/s with
    the default capacity: 50, Discord's global limit).
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
        # Idle time banks at most `capacity` immediate acquisitions: slots never lag further
        # behind the clock than that. A full bucket to start with.
        self._burst = (capacity - 1) / rate
        self._next_slot = clock() - self._burst
        # When the last grants were made, as many as a second may hold (the schedule's own
        # count: `rate`, plus what the capacity allows at once): one more waits for the oldest
        # to be a second old.
        self._last_second: deque[float] = deque(maxlen=max(1, math.floor(capacity - 1 + rate)))
        self._lock = asyncio.Lock()
        self.acquired = 0

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            slot = max(self._next_slot, now - self._burst)
            if len(self._last_second) == self._last_second.maxlen:
                slot = max(slot, self._last_second[0] + 1.0)
            self._next_slot = slot + 1 / self.rate
            if slot > now:
                await self._sleep(slot - now)
            self._last_second.append(max(slot, self._clock()))
            self.acquired += 1
