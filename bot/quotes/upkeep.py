"""Quote search stays fast as quotes pile up: the full-text index is compacted at start-up and
then every few hours, whenever enough quote writes have piled up since it last was (the store's
`compact_search_index` decides, and does the work in steps that other queries take turns with)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from discord.ext import tasks

from bot.quotes.store import QuotesRepository

log = logging.getLogger(__name__)

UPKEEP_HOURS = 6.0


class SearchIndexUpkeep:
    def __init__(self, quotes: QuotesRepository) -> None:
        self._quotes = quotes

    async def start(self) -> None:
        """Compact now if due (before the bot takes commands), then look again every
        UPKEEP_HOURS."""
        await self.run_once()
        self._rounds.start()

    async def stop(self) -> None:
        task = self._rounds.get_task()
        self._rounds.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._rounds.is_running()

    async def run_once(self) -> int:
        """One round; returns the merge steps that did work (0: nothing was due or left to
        merge, or the round failed)."""
        started = time.perf_counter()
        try:
            steps = await self._quotes.compact_search_index()
        except Exception:
            # Searches still work on an uncompacted index, and the writes stay counted.
            log.exception("could not compact the quote search index; will try again")
            return 0
        if steps:
            log.info("compacted the quote search index in %d steps (%.1f s)", steps,
                     time.perf_counter() - started)
        return steps

    @tasks.loop(hours=UPKEEP_HOURS)
    async def _rounds(self) -> None:
        if self._rounds.current_loop:  # the first round is start()'s own
            await self.run_once()
