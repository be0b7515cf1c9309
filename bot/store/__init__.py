"""The async SQLite store. All SQL in the bot lives in this package.

`Store` owns one `Database` and exposes one repository per area (`store.canon`, and the feature
repositories added by later migrations); each returns dataclasses from `bot.store.models`.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.cache import ReadCache
from bot.store.canon import CanonRepository
from bot.store.database import Database, StoreError, load_migrations
from bot.store.feeds import FeedsRepository
from bot.store.guilds import GuildRepository
from bot.store.models import StoreStats
from bot.store.news import NewsRepository
from bot.store.quotes import QuotesRepository

__all__ = ["Store", "StoreError", "load_migrations"]


class Store:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.cache = ReadCache(database)
        self.canon = CanonRepository(database, self.cache)
        self.feeds = FeedsRepository(database)
        self.guilds = GuildRepository(database)
        self.news = NewsRepository(database, self.cache)
        self.quotes = QuotesRepository(database, self.cache)

    @classmethod
    async def open(cls, path: Path, *, migrate_to: int | None = None) -> Store:
        return cls(await Database.open(path, migrate_to=migrate_to))

    async def close(self) -> None:
        await self.database.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def path(self) -> Path:
        return self.database.path

    async def schema_version(self) -> int:
        return await self.database.user_version()

    async def stats(self) -> StoreStats:
        return await self.canon.stats()

    async def backup(self, target: Path) -> None:
        await self.database.backup(target)
