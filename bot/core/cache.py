"""Reads that every card makes and that almost never change, kept in memory.

A trip to the database thread costs 0.1-0.3 ms on a busy event loop, several times the cost of
rendering a card, so the sources table, the per-character quote lists and the names of the
people quoted are read once and reused until something that could change them happens: a seed
through this store, a quote approved here, or a change by another process to what is cached
(noticed through the database's content generation, which triggers bump only for such changes:
see `CanonRepository.content_version`, polled by the character directory every 30 s).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

from bot.canon.models import Season, Source
from bot.core.database import Database

# (character id, guild id) -> quote ids. 4,096 entries of a few ids each is well under 1 MiB.
QUOTE_IDS_KEPT = 4096
# guild id -> names of people quoted only in that server's approved submissions (usually none).
GUILD_SPEAKERS_KEPT = 1024

K = TypeVar("K")
V = TypeVar("V")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """A name as typed, without repeated spaces and with SQLite's NOCASE folding (ASCII letters
    only), so it matches exactly the quotes the person filter's `COLLATE NOCASE` will find."""
    return " ".join(name.split()).translate(_ASCII_LOWER)


class SpeakerNames:
    """People with quotes, A to Z ignoring case, and each by its folded name."""

    def __init__(self, names: Iterable[str]) -> None:
        by_fold: dict[str, str] = {}
        for name in names:
            by_fold.setdefault(fold(name), name)
        self.folded = sorted(by_fold)
        self.by_fold = by_fold


class RecentlyUsed(Generic[K, V]):
    """The `size` most recently used entries."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class ReadCache:
    def __init__(self, database: Database, *, quote_ids_kept: int = QUOTE_IDS_KEPT) -> None:
        self._db = database
        self._sources: dict[str, Source] | None = None
        self._quote_ids: RecentlyUsed[tuple[int, int | None], tuple[int, ...]] = RecentlyUsed(
            quote_ids_kept)
        self._canon_speakers: SpeakerNames | None = None
        self._guild_speakers: RecentlyUsed[int, SpeakerNames] = RecentlyUsed(GUILD_SPEAKERS_KEPT)
        # guild id -> people with canon quotes there, for the servers that took canon quotes
        # out (few): someone whose every canon quote a server hid is not offered there.
        self._guild_canon_speakers: RecentlyUsed[int, SpeakerNames] = RecentlyUsed(
            GUILD_SPEAKERS_KEPT)
        # The season cards (`/season`, `/characters`'s season names): a few rows each built
        # from four tables, and the same for everyone.
        self._seasons: tuple[Season, ...] | None = None
        # Bumped by every clear, so a read that started before a change is not stored after it.
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def clear(self) -> None:
        self._sources = None
        self._quote_ids.clear()
        self._canon_speakers = None
        self._guild_speakers.clear()
        self._guild_canon_speakers.clear()
        self._seasons = None
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

    # Each keep_* stores a read made at `epoch` (taken before the read began), unless the cache
    # was cleared since.

    def quote_ids(self, character_id: int, guild_id: int | None) -> tuple[int, ...] | None:
        return self._quote_ids.get((character_id, guild_id))

    def keep_quote_ids(self, character_id: int, guild_id: int | None, ids: tuple[int, ...],
                       epoch: int) -> None:
        if epoch == self._epoch:
            self._quote_ids.put((character_id, guild_id), ids)

    def canon_speakers(self) -> SpeakerNames | None:
        return self._canon_speakers

    def keep_canon_speakers(self, names: SpeakerNames, epoch: int) -> None:
        if epoch == self._epoch:
            self._canon_speakers = names

    def guild_speakers(self, guild_id: int) -> SpeakerNames | None:
        return self._guild_speakers.get(guild_id)

    def keep_guild_speakers(self, guild_id: int, names: SpeakerNames, epoch: int) -> None:
        if epoch == self._epoch:
            self._guild_speakers.put(guild_id, names)

    def guild_canon_speakers(self, guild_id: int) -> SpeakerNames | None:
        return self._guild_canon_speakers.get(guild_id)

    def keep_guild_canon_speakers(self, guild_id: int, names: SpeakerNames, epoch: int) -> None:
        if epoch == self._epoch:
            self._guild_canon_speakers.put(guild_id, names)

    def seasons(self) -> tuple[Season, ...] | None:
        return self._seasons

    def keep_seasons(self, seasons: tuple[Season, ...], epoch: int) -> None:
        if epoch == self._epoch:
            self._seasons = seasons
