"""The per-channel publish budget: about 10 crossposts per hour per announcement channel.

Times come from the store (when each post of the channel was published), so the budget holds
across restarts, and a post over budget simply waits for its slot while sends go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def next_publish_slot(published: Iterable[datetime], now: datetime, *, limit: int,
                      window: float) -> datetime | None:
    """None if a publish may go now, else the first moment one may.

    A new publish is allowed while fewer than `limit` fall in the `window` seconds before it;
    over that, it must wait until the oldest publish that still counts leaves the window.
    """
    span = timedelta(seconds=window)
    recent = sorted(t for t in published if t > now - span)
    if len(recent) < limit:
        return None
    return recent[len(recent) - limit] + span
