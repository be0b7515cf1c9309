"""Which quote comes next: a random starting point handed to the store's rotation walk, and
the rule that a quote counts as shown only once it was.

Draws are counted as shown together (`ShownMarks`): the marks that arrive within MARK_WINDOW
go to the database as one statement. Each write is a trip to aiosqlite's thread, whose CPU cost
is many times that of the insert itself, and on a busy night nearly half of all interactions
draw a quote. A quote stays in its rotation's "being shown" set until its mark has landed, so
no draw picks it again meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.core.database import StoreUnavailable
from bot.quotes.models import QuoteDraw, QuoteFilter
from bot.quotes.store import QuotesRepository

log = logging.getLogger(__name__)


# How long a mark waits for others to go with it: far below anything a member could notice (it
# comes after the reply), long enough to gather a dozen marks at a few hundred draws a second.
MARK_WINDOW = 0.05


class ShownMarks:
    """Marks of draws (none opening a cycle) written together, MARK_WINDOW after the first of
    a batch arrives; `mark` returns once its batch is written, or raises its error."""

    def __init__(self, quotes: QuotesRepository, window: float = MARK_WINDOW) -> None:
        self._quotes = quotes
        self._window = window
        self._waiting: list[tuple[int, QuoteFilter, QuoteDraw, asyncio.Future[None]]] = []
        self._gathering: asyncio.Task[None] | None = None  # the batch taking new marks
        self._tasks: set[asyncio.Task[None]] = set()  # gathering or writing
        self._now = asyncio.Event()

    async def mark(self, guild_id: int, flt: QuoteFilter, draw: QuoteDraw) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((guild_id, flt, draw, done))
        if self._gathering is None:
            task = asyncio.create_task(self._write_soon(), name="quote marks")
            self._gathering = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Shielded: a member's task cancelled now must not cancel the batch's write for others.
        await asyncio.shield(done)

    async def flush(self) -> None:
        """Write the waiting marks now (when the cog unloads), including any that arrive
        meanwhile."""
        while self._tasks:
            self._now.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._now.clear()

    async def _write_soon(self) -> None:
        batch: list[tuple[int, QuoteFilter, QuoteDraw, asyncio.Future[None]]] = []
        try:
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), self._window)
            finally:
                # Marks from now on go to the next batch.
                batch, self._waiting, self._gathering = self._waiting, [], None
                self._now.clear()
            await self._quotes.mark_shown_together([(g, f, d) for g, f, d, _ in batch])
        except BaseException as exc:
            # Every member of the batch hears how it ended, even when this task was cancelled
            # (a member left waiting would keep its quote "being shown" for good).
            for *_, done in batch:
                if done.done():
                    continue
                if isinstance(exc, Exception):
                    done.set_exception(exc)
                else:
                    done.cancel()
            if not isinstance(exc, Exception):
                raise
        else:
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)


class QuoteRotation:
    def __init__(self, quotes: QuotesRepository, rng: random.Random | None = None, *,
                 mark_window: float = MARK_WINDOW) -> None:
        self._quotes = quotes
        self._marks = ShownMarks(quotes, mark_window)
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
                await self._mark_shown(guild_id, flt, draw, together=True)
        finally:
            if draw is not None:
                showing.discard(draw.quote.id)
            # Not while another draw holds the lock: it took this set before its read and adds
            # its quote to it after, and a new set would not know that quote is being shown.
            if not showing and not lock.locked() and self._showing.get(key) is showing:
                del self._showing[key]

    async def flush(self) -> None:
        """Write the marks still waiting for their batch (before the bot stops)."""
        await self._marks.flush()

    async def _mark_shown(self, guild_id: int, flt: QuoteFilter, draw: QuoteDraw, *,
                          together: bool = False) -> None:
        try:
            if together:
                await self._marks.mark(guild_id, flt, draw)
            else:
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
