"""Interactions that waited too long in this process to be answered in time, left unanswered.

Discord accepts the first answer to an interaction within 3 s of its creation. A process offered
more interactions a second than its core serves falls behind; working through interactions
already past their deadline (every answer refused) makes the ones queued behind them late too,
and the process answers nothing in time until the burst is over. Leaving out what can no longer
be answered keeps the rest in time.

How long an interaction waited is judged on this process's monotonic clock against its id
(Discord's creation time, in milliseconds), relative to a baseline: the least such delay seen,
which holds the difference between the two clocks and the network's usual delay, so both cancel
out and a step of the machine's wall clock changes nothing. The baseline follows a lower delay at
once but rises only slowly (RISE a minute), and not at all through a minute in which something
was shed: a process that stays behind for an hour must not come to take its own queue for the
network's delay. After a long idle it may rise by RISE for every minute that passed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import discord

log = logging.getLogger(__name__)

# Waited this much longer than the baseline: the half second left is too little on a loop this
# far behind, and an answer Discord will refuse only delays the next ones.
SHED_AFTER = 2.5
WINDOW = 60.0
# How far the baseline may rise a window (the network got slower, or the clocks drifted apart).
RISE = 0.05
LOG_EVERY = 10.0  # while shedding: one warning with the count, not one per interaction


class Lateness:
    def __init__(self, *, shed_after: float = SHED_AFTER, window: float = WINDOW,
                 rise: float = RISE, clock: Callable[[], float] = time.monotonic) -> None:
        self.shed_after = shed_after
        self._window = window
        self._rise = rise
        self._clock = clock
        self._baseline = math.inf  # as of the start of this window
        self._least = math.inf  # the least (clock - creation) seen in this window
        self._shed_here = False  # whether this window shed anything
        self._window_ends = clock() + window
        self._logged_at = -math.inf
        self._unlogged = 0
        self.shed = 0  # since start

    def waited(self, interaction_id: int) -> float:
        """Seconds this interaction waited beyond the baseline (and counts it)."""
        now = self._clock()
        if now >= self._window_ends:
            self._roll(now)
        created = ((interaction_id >> 22) + discord.utils.DISCORD_EPOCH) / 1000
        offset = now - created
        self._least = min(self._least, offset)
        return offset - min(self._baseline, self._least)

    def _roll(self, now: float) -> None:
        passed = math.floor((now - self._window_ends) / self._window) + 1
        self._baseline = min(self._least,
                             self._baseline + (0.0 if self._shed_here else self._rise))
        # Windows after it with nothing seen (an idle process) let it rise too: there is no
        # telling how the clocks moved meanwhile.
        self._baseline += self._rise * (passed - 1)
        self._least, self._shed_here = math.inf, False
        self._window_ends += passed * self._window

    def too_late(self, interaction_id: int) -> bool:
        """Whether to leave this interaction unanswered: it cannot be answered in time."""
        waited = self.waited(interaction_id)
        shed = waited > self.shed_after
        if shed:
            self.shed += 1
            self._unlogged += 1
            self._shed_here = True
        now = self._clock()
        if self._unlogged and now - self._logged_at >= LOG_EVERY:
            log.warning("left %d interactions unanswered: they waited %.1f s or more here, too "
                        "long for Discord's 3 s deadline (this process is overloaded)",
                        self._unlogged, self.shed_after)
            self._logged_at, self._unlogged = now, 0
        return shed


def shed_if_late(interaction: discord.Interaction) -> bool:
    """True (and counted) when `interaction` should be left unanswered; for every check that
    runs before a command, autocomplete or button does its work."""
    client = interaction.client
    lateness = getattr(client, "lateness", None)
    if not isinstance(lateness, Lateness) or not lateness.too_late(interaction.id):
        return False
    interaction.extras["outcome"] = "shed"
    metrics = getattr(client, "metrics", None)
    if metrics is not None:
        metrics.interaction_shed(interaction.type.name)
    return True
