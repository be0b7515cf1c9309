"""Shared fixtures: real SQLite files in a temporary folder, never mocks of the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import DEFAULT_SEED_DIR, Settings
from bot.seeding import load_seed
from bot.store import Store

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "heartstopper.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(token=None, database_path=db_path, seed_dir=DEFAULT_SEED_DIR)


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
