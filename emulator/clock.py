"""One adjustable clock for every time-based Discord rule.

Publishing budgets are counted per hour and interaction tokens live 15 minutes; tests cannot
wait that long, so every rule reads this clock and a test calls `emu.clock.advance(3600)`.
It runs in real time otherwise, because discord.py really sleeps for a `retry_after`.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

from .config import snowflake_at


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Monotonic seconds (use for deadlines and windows)."""
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """Unix seconds (use for timestamps and snowflakes)."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def iso(self) -> str:
        return datetime.fromtimestamp(self.wall(), UTC).isoformat()


class Snowflakes:
    """Fresh IDs that sort by creation time, as discord.py assumes (e.g. for `created_at`)."""

    def __init__(self, clock: Clock, worker: int = 1) -> None:
        self._clock = clock
        self._worker = worker
        self._counter = itertools.count()
        self._last = 0

    def next(self) -> int:
        candidate = snowflake_at(int(self._clock.wall() * 1000), self._worker, next(self._counter))
        # Strictly increasing even when many IDs are made within one millisecond.
        self._last = max(candidate, self._last + 1)
        return self._last
