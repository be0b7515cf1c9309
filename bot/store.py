"""The async SQLite store, put together: one `Database` (bot/core/database.py) and each
feature's repository (`store.canon`, `store.quotes`, `store.news`, `store.feeds`, `store.guilds`).
All SQL lives in those repositories, one `store.py` in each feature's folder, and each returns
its feature's dataclasses (`models.py` beside it)."""

from __future__ import annotations

from pathlib import Path

from bot.canon.guild_settings import GuildRepository
from bot.canon.models import StoreStats
from bot.canon.store import CanonRepository
from bot.core.cache import ReadCache
from bot.core.database import Database, StoreError, load_migrations
from bot.feeds.store import FeedsRepository
from bot.news.store import NewsRepository
from bot.quotes.store import QuotesRepository

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
