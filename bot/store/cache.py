"""Reads that every card makes and that almost never change, kept in memory.

A trip to the database thread costs 0.1-0.3 ms on a busy event loop, several times the cost of
rendering a card, so the sources table and the per-character quote lists are read once and
reused until something that could change them happens: a seed through this store, a quote
approved or added here, or a commit by another process (noticed through SQLite's data_version,
see `CanonRepository.content_version`, polled by the character directory every 30 s).
"""

from __future__ import annotations

from collections import OrderedDict

from bot.store.database import Database
from bot.store.models import Source

# (character id, guild id) -> quote ids. 4,096 entries of a few ids each is well under 1 MiB.
QUOTE_IDS_KEPT = 4096


class ReadCache:
    def __init__(self, database: Database, *, quote_ids_kept: int = QUOTE_IDS_KEPT) -> None:
        self._db = database
        self._sources: dict[str, Source] | None = None
        self._quote_ids: OrderedDict[tuple[int, int | None], tuple[int, ...]] = OrderedDict()
        self._quote_ids_kept = quote_ids_kept
        # Bumped by every clear, so a read that started before a change is not stored after it.
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def clear(self) -> None:
        self._sources = None
        self._quote_ids.clear()
        self._epoch += 1

    async def sources(self) -> dict[str, Source]:
        """Every cited source by its seed key."""
        if self._sources is None:
            epoch = self._epoch
            rows = await self._db.fetch_all("SELECT seed_key, title, site, url FROM sources")
            sources = {r["seed_key"]: Source(r["seed_key"], r["title"], r["site"], r["url"])
                       for r in rows}
            if epoch != self._epoch:
                return sources  # changed while reading: use it once, keep nothing
            self._sources = sources
        return self._sources

    def quote_ids(self, character_id: int, guild_id: int | None) -> tuple[int, ...] | None:
        key = (character_id, guild_id)
        found = self._quote_ids.get(key)
        if found is not None:
            self._quote_ids.move_to_end(key)
        return found

    def keep_quote_ids(self, character_id: int, guild_id: int | None, ids: tuple[int, ...],
                       epoch: int) -> None:
        """Store a lookup made at `epoch` (the value of `epoch` before the read began)."""
        if epoch != self._epoch:
            return
        self._quote_ids[(character_id, guild_id)] = ids
        self._quote_ids.move_to_end((character_id, guild_id))
        while len(self._quote_ids) > self._quote_ids_kept:
            self._quote_ids.popitem(last=False)
