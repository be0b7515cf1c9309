"""Which quote comes next: a random starting point handed to the store's rotation walk."""

from __future__ import annotations

import random

from bot.store.models import QuoteDraw, QuoteFilter
from bot.store.quotes import QuotesRepository


class QuoteRotation:
    def __init__(self, quotes: QuotesRepository, rng: random.Random | None = None) -> None:
        self._quotes = quotes
        self._rng = rng or random.SystemRandom()

    async def next(self, guild_id: int, flt: QuoteFilter | None = None) -> QuoteDraw | None:
        """The next quote of this server's rotation for `flt`; None when nothing matches."""
        start = self._rng.getrandbits(64) - 2**63  # anywhere in SQLite's INTEGER range
        return await self._quotes.draw(guild_id, flt or QuoteFilter(), start)
