"""The character index kept in step with the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bot.characters.index import CharacterIndex

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store

log = logging.getLogger(__name__)

# `heartstopper-bot db seed` may run while the bot does: its changes are picked up this often.
REFRESH_SECONDS = 30.0


class CharacterDirectory:
    """Owns the in-memory index; `refresh()` rebuilds it only when the canon changed.

    Every feature that reads the index (`/character`, the quote filters' suggestions) calls
    `keep_fresh()` when it loads and `release()` when it unloads: the refresh loop runs while
    any of them is loaded, whichever loaded first."""

    def __init__(self, store: Store, *, every: float = REFRESH_SECONDS) -> None:
        self._store = store
        self.index = CharacterIndex()
        self._version: tuple[int, int] | None = None
        self._every = every
        self._users = 0
        self._task: asyncio.Task[None] | None = None

    async def keep_fresh(self, *, background: bool = True) -> None:
        """Build the index now; with `background`, keep it fresh until the last release."""
        await self.refresh()
        if not background:
            return
        self._users += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._refresh_loop(), name="character-index")

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round must not end the loop
                log.exception("could not refresh the character index; will try again")

    async def refresh(self) -> bool:
        version = await self._store.canon.content_version()
        if version == self._version:
            return False
        self.index.rebuild(await self._store.canon.characters())
        self._version = version
        log.info("character index rebuilt: %d characters", len(self.index))
        return True
