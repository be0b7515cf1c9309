"""Interactions that waited too long in this process to be answered in time, left unanswered.

Discord accepts the first answer to an interaction within 3 s of its creation. A process offered
more interactions a second than its core serves falls behind; working through interactions
already past their deadline (every answer refused) makes the ones queued behind them late too,
and the process answers nothing in time until the burst is over. Leaving out what can no longer
be answered keeps the rest in time.

How long an interaction waited is judged on this process's monotonic clock against its id
(Discord's creation time, in milliseconds), relative to the least such delay seen in the last
minute or two: the difference between the two clocks and the network's usual delay cancel out,
and a step of the machine's wall clock changes nothing. A process that stays behind for minutes
raises its own floor and so sheds less, never more.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import discord

log = logging.getLogger(__name__)

# Waited this much longer than the least delay seen lately: the half second left is too little
# on a loop this far behind, and an answer Discord will refuse only delays the next ones.
SHED_AFTER = 2.5
WINDOW = 60.0  # the floor is the least delay of this window and the one before it
LOG_EVERY = 10.0  # while shedding: one warning with the count, not one per interaction


class Lateness:
    def __init__(self, *, shed_after: float = SHED_AFTER, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.shed_after = shed_after
        self._window = window
        self._clock = clock
        self._floor = math.inf  # least (clock - creation) in this window
        self._previous = math.inf  # ... and in the one before
        self._window_ends = clock() + window
        self._logged_at = -math.inf
        self._unlogged = 0
        self.shed = 0  # since start

    def waited(self, interaction_id: int) -> float:
        """Seconds this interaction waited beyond the least delay seen lately (counts it)."""
        now = self._clock()
        if now >= self._window_ends:
            self._previous, self._floor = self._floor, math.inf
            self._window_ends = now + self._window
        created = ((interaction_id >> 22) + discord.utils.DISCORD_EPOCH) / 1000
        offset = now - created
        self._floor = min(self._floor, offset)
        return offset - min(self._floor, self._previous)

    def too_late(self, interaction_id: int) -> bool:
        """Whether to leave this interaction unanswered: it cannot be answered in time."""
        waited = self.waited(interaction_id)
        if waited <= self.shed_after:
            return False
        self.shed += 1
        self._unlogged += 1
        now = self._clock()
        if now - self._logged_at >= LOG_EVERY:
            log.warning("left %d interactions unanswered: they waited %.1f s or more here, too "
                        "long for Discord's 3 s deadline (this process is overloaded)",
                        self._unlogged, self.shed_after)
            self._logged_at, self._unlogged = now, 0
        return True


def shed_if_late(interaction: discord.Interaction) -> bool:
    """True (and counted) when `interaction` should be left unanswered; for every check that
    runs before a command, autocomplete or button does its work."""
    lateness = getattr(interaction.client, "lateness", None)
    if not isinstance(lateness, Lateness) or not lateness.too_late(interaction.id):
        return False
    interaction.extras["outcome"] = "shed"
    return True
