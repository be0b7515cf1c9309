import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from bot.core.database import (
    BUSY_TIMEOUT_MS,
    INLINE_READ_STEPS,
    MMAP_BYTES,
    READ_BUSY_TIMEOUT_MS,
    Database,
    Migration,
    StoreUnavailable,
)
from bot.store import Store, StoreError, load_migrations

LATEST = load_migrations()[-1].version


def schema_of(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return sorted(connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        ).fetchall())


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_fresh_database_reaches_latest_with_pragmas(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        assert await store.schema_version() == LATEST
        db = store.database

        async def pragma(connection: aiosqlite.Connection, name: str) -> object:
            [row] = await connection.execute_fetchall(f"PRAGMA {name}")
            return row[0]

        writer, reader = db.connection, db.reader
        assert reader is not writer
        assert await pragma(writer, "journal_mode") == "wal"
        assert await pragma(writer, "foreign_keys") == 1
        assert await pragma(writer, "busy_timeout") == BUSY_TIMEOUT_MS
        assert await pragma(writer, "mmap_size") == MMAP_BYTES
        # The reader cannot write, and waits longer: it never waits for a writer in WAL mode.
        assert await pragma(reader, "query_only") == 1
        assert await pragma(reader, "busy_timeout") == READ_BUSY_TIMEOUT_MS
        assert await pragma(reader, "mmap_size") == MMAP_BYTES
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.execute("DELETE FROM characters")
        # The loop thread's own reader neither writes nor ever waits.
        inline = db.inline
        assert inline is not None
        assert [tuple(r) for r in inline.execute("PRAGMA query_only")] == [(1,)]
        assert [tuple(r) for r in inline.execute("PRAGMA busy_timeout")] == [(0,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            inline.execute("DELETE FROM characters")


# Counts to n in SQL: about ten VM steps a row, so the step budget decides where it runs.
_COUNT_TO = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
             " SELECT count(*) FROM c")


async def test_a_quick_read_runs_on_the_loop_and_a_long_one_on_the_readers_thread(
        store: Store) -> None:
    db = store.database
    assert await db.fetch_value(_COUNT_TO, (10,)) == 10
    assert (db.inline_reads, db.handed_over_reads) == (1, 0)
    # Far past INLINE_READ_STEPS: stopped on the loop, run again on aiosqlite's thread,
    # with the same answer.
    many = INLINE_READ_STEPS * 5
    assert await db.fetch_value(_COUNT_TO, (many,)) == many
    assert (db.inline_reads, db.handed_over_reads) == (1, 1)
    # The budget is per read: the next quick one runs on the loop again.
    assert await db.fetch_all("SELECT 1 UNION ALL SELECT 2") is not None
    assert db.inline_reads == 2
    # A query that is wrong fails with its own error, whichever thread ran it last. (A read
    # that meets a lock takes the same way as one stopped at the budget: busy_timeout 0 above.)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await db.fetch_all("SELECT * FROM no_such_table")


@pytest.mark.parametrize("start", range(LATEST))
async def test_upgrade_from_each_earlier_version(tmp_path: Path, start: int) -> None:
    fresh = tmp_path / "fresh.db"
    async with await Store.open(fresh):
        pass
    old = tmp_path / "old.db"
    async with await Store.open(old, migrate_to=start) as store:
        assert await store.schema_version() == start
    async with await Store.open(old) as store:
        assert await store.schema_version() == LATEST
    assert schema_of(old) == schema_of(fresh)


async def test_newer_database_is_refused_with_a_clear_message(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(StoreError, match="newer version of the bot"):
        await Store.open(db_path)


async def test_a_failing_migration_leaves_nothing_behind(db_path: Path) -> None:
    database = await Database.open(db_path, migrate_to=0)
    try:
        broken = Migration(1, "0001_broken.sql",
                           "CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;")
        with pytest.raises(StoreError, match=r"0001_broken\.sql failed"):
            await database._apply(broken)
        assert await database.user_version() == 0
        assert await database.fetch_value(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'") == 0
    finally:
        await database.close()


async def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.database.transaction() as db:
            await db.execute("INSERT INTO sources (seed_key, title) VALUES ('x', 'X')")
            raise RuntimeError("boom")
    assert await store.database.fetch_value("SELECT COUNT(*) FROM sources") == 0


async def test_backup_is_a_consistent_copy(seeded_store: Store, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    await seeded_store.backup(target)
    async with await Store.open(target) as copy:
        assert await copy.stats() == await seeded_store.stats()


async def test_a_cancelled_transaction_leaves_the_connection_usable(store: Store) -> None:
    import asyncio

    async def writer() -> None:
        async with store.database.transaction() as db:
            await db.execute("INSERT INTO sources (seed_key, title) VALUES ('a', 'A')")
            await asyncio.sleep(10)

    for delay in (0, 0.001, 0.01):
        task = asyncio.create_task(writer())
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not store.database.connection.in_transaction
    async with store.database.transaction() as db:
        await db.execute("INSERT INTO sources (seed_key, title) VALUES ('b', 'B')")
    assert await store.database.fetch_value("SELECT group_concat(seed_key) FROM sources") == "b"


async def test_a_wrong_write_is_a_bug_not_an_unavailable_store(store: Store) -> None:
    """A constraint broken is our mistake and goes up as it is; only a write SQLite cannot make
    now (busy, full, I/O) becomes StoreUnavailable, which users are told to retry."""
    with pytest.raises(sqlite3.IntegrityError):
        async with store.database.transaction() as db:
            await db.execute("INSERT INTO characters (seed_key, name, in_film, description,"
                             " arcs, role, source_keys) VALUES ('k', 'n', 0, 'd', '[]',"
                             " 'no such role', '[]')")
    store.database.write_fault = lambda: sqlite3.OperationalError("database or disk is full")
    with pytest.raises(StoreUnavailable) as raised:
        await store.database.write_one("DELETE FROM characters WHERE 0")
    assert raised.value.kind == "full"
    assert store.database.last_write_error is not None
    assert store.database.last_write_error.kind == "full"
