"""The character index kept in step with the store."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.characters.index import CharacterIndex

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store

log = logging.getLogger(__name__)


class CharacterDirectory:
    """Owns the in-memory index; `refresh()` rebuilds it only when the canon changed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.index = CharacterIndex()
        self._version: tuple[int, int] | None = None

    async def refresh(self) -> bool:
        version = await self._store.canon.content_version()
        if version == self._version:
            return False
        self.index.rebuild(await self._store.canon.characters())
        self._version = version
        log.info("character index rebuilt: %d characters", len(self.index))
        return True
