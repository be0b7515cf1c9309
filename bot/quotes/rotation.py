"""Which quote comes next: a random starting point handed to the store's rotation walk, and
the rule that a quote counts as shown only once it was."""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.core.database import StoreUnavailable
from bot.quotes.models import QuoteDraw, QuoteFilter
from bot.quotes.store import QuotesRepository

log = logging.getLogger(__name__)


class QuoteRotation:
    def __init__(self, quotes: QuotesRepository, rng: random.Random | None = None) -> None:
        self._quotes = quotes
        self._rng = rng or random.SystemRandom()
        # One lock per rotation in use (server and filter), gone when no draw holds it: held
        # only while picking, never while a reply goes out.
        self._locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
            weakref.WeakValueDictionary())
        # Per rotation, the quotes picked and not yet marked shown (their replies are on the
        # way): the next pick skips them.
        self._showing: dict[tuple[int, str], set[int]] = {}

    @asynccontextmanager
    async def draw(self, guild_id: int, flt: QuoteFilter | None = None
                   ) -> AsyncIterator[QuoteDraw | None]:
        """The next quote of this server's rotation for `flt` (None when nothing matches),
        counted as shown when the block ends without an error: a reply that failed leaves it
        for next time, and the write happens after the reply, not before it. Draws of one
        rotation at the same time never show the same quote (unless the pool is smaller than
        the number of draws)."""
        flt = flt or QuoteFilter()
        key = (guild_id, flt.key)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            showing = self._showing.setdefault(key, set())
            start = self._rng.getrandbits(64) - 2**63  # anywhere in SQLite's INTEGER range
            draw = await self._quotes.peek(guild_id, flt, start, skip=tuple(showing))
            if draw is not None:
                showing.add(draw.quote.id)
        try:
            yield draw
            if draw is not None and draw.new_cycle:
                # Opening a round turns it: no pick of this rotation may read half of that.
                async with lock:
                    await self._mark_shown(guild_id, flt, draw)
            elif draw is not None:
                await self._mark_shown(guild_id, flt, draw)
        finally:
            if draw is not None:
                showing.discard(draw.quote.id)
            # Not while another draw holds the lock: it took this set before its read and adds
            # its quote to it after, and a new set would not know that quote is being shown.
            if not showing and not lock.locked() and self._showing.get(key) is showing:
                del self._showing[key]

    async def _mark_shown(self, guild_id: int, flt: QuoteFilter, draw: QuoteDraw) -> None:
        try:
            await self._quotes.mark_shown(guild_id, flt, draw)
        except StoreUnavailable as exc:
            log.warning("could not count quote %d as shown in server %d: %s", draw.quote.id,
                        guild_id, exc)
        except Exception:
            # The member has the quote already; at worst it comes round again this cycle.
            log.exception("could not count quote %d as shown in server %d", draw.quote.id,
                          guild_id)

    async def next(self, guild_id: int, flt: QuoteFilter | None = None) -> QuoteDraw | None:
        """The next quote, counted as shown at once (for callers that handle a failed post
        themselves, such as the quote of the day)."""
        async with self.draw(guild_id, flt) as draw:
            return draw
