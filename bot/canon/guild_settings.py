"""Per-server settings."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.database import Database
from bot.core.times import stamp


class GuildRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        # guild id -> watched season, for servers seen since start: read by every card, and
        # written only through this repository (one bot process owns the database).
        self._watched: dict[int, int | None] = {}

    async def watched_season(self, guild_id: int | None) -> int | None:
        """How far the server has watched; None means everything released is open."""
        if guild_id is None:
            return None
        if guild_id in self._watched:
            return self._watched[guild_id]
        value = await self._db.fetch_value(
            "SELECT watched_season FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        watched = None if value is None else int(value)
        # setdefault: a set_watched_season that finished while this read was queued wins.
        return self._watched.setdefault(guild_id, watched)

    async def set_watched_season(self, guild_id: int, season: int | None) -> None:
        try:
            async with self._db.transaction() as db:
                await db.execute(
                    "INSERT INTO guild_settings (guild_id, watched_season, updated_at)"
                    " VALUES (?, ?, ?) ON CONFLICT(guild_id) DO UPDATE SET"
                    " watched_season = excluded.watched_season,"
                    " updated_at = excluded.updated_at",
                    (guild_id, season, stamp(datetime.now(UTC))),
                )
        except BaseException:
            # A read on the shared connection may have cached the value this rolled back.
            self._watched.pop(guild_id, None)
            raise
        self._watched[guild_id] = season
