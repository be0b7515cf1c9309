"""Shared fixtures: real SQLite files in a temporary folder, never mocks of the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.canon.seeding import load_seed
from bot.client import HeartstopperBot
from bot.core.config import DEFAULT_SEED_DIR, Settings
from bot.playground.harness import BotRunner, emulator_settings
from bot.store import Store
from emulator import Emulator, default_config
from emulator.testing import running_emulator

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "heartstopper.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    # Feed tests fetch from a local server on 127.0.0.1 (tests/feeds_server.py).
    return Settings(token=None, database_path=db_path, seed_dir=DEFAULT_SEED_DIR,
                    feeds_allow_private_addresses=True)


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(db_path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def seeded_store(store: Store) -> Store:
    await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
    return store


async def add_canon_quotes(store: Store, texts: list[str]) -> None:
    """Many canon quotes in one transaction (one write to the full-text index)."""
    async with store.database.transaction() as db:
        await db.executemany(
            "INSERT INTO quotes (text, speaker_name, status) VALUES (?, 'Someone', 'canon')",
            [(text,) for text in texts])


# ---- end-to-end: the real bot against the local Discord emulator ------------------------------

@dataclass
class Harness:
    """A running emulator and a running bot on a fresh seeded database.

    `emu` drives Discord (invoke, autocomplete, press...), `bot`/`store` are the live bot's;
    `restart()` stops the bot and starts a new one on the same database, as after a crash.
    `now` is the bot's clock (a mutable aware datetime), moved with `advance()`.
    """

    emu: Emulator
    runner: BotRunner
    now: datetime

    @property
    def bot(self) -> HeartstopperBot:
        assert self.runner.bot is not None
        return self.runner.bot

    @property
    def store(self) -> Store:
        assert self.runner.store is not None
        return self.runner.store

    @property
    def guild_id(self) -> int:
        return self.emu.config.guilds[0].id

    def channel_id(self, name: str = "general", guild: int = 0) -> int:
        return next(c.id for c in self.emu.config.guilds[guild].channels if c.name == name)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def restart(self) -> HeartstopperBot:
        return await self.runner.restart()


def _make_harness_fixture(guilds: int):
    @pytest.fixture
    async def fixture(settings: Settings) -> AsyncIterator[Harness]:
        async with running_emulator(default_config(guilds=guilds)) as emu:
            holder: list[Harness] = []
            runner = BotRunner(emu, emulator_settings(settings, emu),
                               clock=lambda: holder[0].now)
            harness = Harness(emu, runner, datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
            holder.append(harness)
            await runner.start()
            try:
                yield harness
            finally:
                await runner.stop()

    return fixture


harness = _make_harness_fixture(guilds=1)
harness3 = _make_harness_fixture(guilds=3)
