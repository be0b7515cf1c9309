"""How the delivery engine is doing, as /news status shows it (a plain value, so renderers need
nothing of the engine itself)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.database import WriteFailure


@dataclass(frozen=True, slots=True)
class EngineHealth:
    """What /news status shows about the engine itself."""

    running: bool
    in_hand: int  # claimed by this run and not finished (queued, sending, or being recorded)
    unrecorded: int  # outcomes known but not yet written to the store
    unrecorded_for: float | None  # seconds the oldest of those has waited
    store_trouble_for: float | None  # seconds the store has been refusing writes, if it is
    last_store_error: WriteFailure | None

    @property
    def healthy(self) -> bool:
        return self.running and not self.unrecorded and self.store_trouble_for is None

    @property
    def problem(self) -> str | None:
        if not self.running:
            return "the engine is stopped"
        if self.store_trouble_for is not None or self.unrecorded:
            return "the database is refusing writes; deliveries wait and nothing is lost"
        return None
