"""Two aiosqlite connections, their pragmas, the migrations and the write lock.

Writes go through one connection shared by every task, so two tasks must never interleave
statements inside one transaction: every write goes through `transaction()`, which holds an
asyncio lock. Reads go through a second, read-only connection: in WAL mode a reader never waits
for a writer, so a lookup answers at once even while a write waits out another process's lock
(each aiosqlite connection runs its statements one at a time on its own thread).

A write that cannot be made (the database busy or locked, the disk full, an I/O error) raises
`StoreUnavailable`; nothing was changed, and trying again later may work. The last such failure
is kept (`last_write_error`) for status displays.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

# How long one write waits for another process's lock, and how long a write waits for this
# process's other writers, before giving up with StoreUnavailable. Short on purpose: a slash
# command that writes must still answer within Discord's 3 seconds ("busy, try again"), and the
# background writers (news outcomes, claims, feeds) retry by themselves.
BUSY_TIMEOUT_MS = 1000
WRITE_LOCK_WAIT = 1.0
# Reads only wait out a checkpoint or a WAL recovery, never a writer.
READ_BUSY_TIMEOUT_MS = 5000
# Reads go through a memory map of the database file instead of copying pages into SQLite's own
# 2 MiB cache: with quotes, search and rotation reads taking turns, the default cache kept
# evicting what the next command needed (see benchmarks/README.md). The pages
# are the OS's file cache, shared and reclaimable; this is an upper bound, not an allocation.
# They count in the process's resident memory as file pages, and a disk read error stops the
# process (SIGBUS) instead of raising an error; its supervisor restarts it either way.
MMAP_BYTES = 256 * 1024 * 1024
# A read first runs on the event loop's own thread, on a connection of its own, and is handed to
# aiosqlite's thread only if it needs more than this many SQLite VM steps (or meets a lock). A
# trip to that thread costs far more CPU than a lookup by key (two thread wake-ups and the GIL
# passed both ways; figures in benchmarks/README.md), and most reads are such lookups; the step
# budget keeps any read from holding the loop for long, whatever its plan.
INLINE_READ_STEPS = 20_000
_STEPS_PER_CHECK = 1_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says why and what to do."""


class StoreUnavailable(StoreError):
    """A write could not be made now; nothing was changed. `kind` is 'busy' (another process
    or this one's other writers hold the lock), 'full' (no space left), 'io' (the disk failed)
    or 'error' (anything else SQLite refused)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"the database could not be written ({kind}): {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WriteFailure:
    """The last write that failed, for /news status and the logs."""

    kind: str
    detail: str
    at: datetime


def classify_write_error(error: sqlite3.Error) -> str:
    name = getattr(error, "sqlite_errorname", "") or ""
    text = f"{name} {error}".lower()
    if "busy" in text or "locked" in text:
        return "busy"
    if "full" in text:
        return "full"
    if "ioerr" in text or "i/o" in text or "readonly" in text or "read-only" in text:
        return "io"
    return "error"


# What SQLite says when it cannot make a write now (busy, locked, full, I/O, a damaged file), as
# against a write that is wrong (a constraint, a closed connection): only the first kind becomes
# StoreUnavailable; the second is a bug and goes up as it is.
_REFUSED = (sqlite3.OperationalError, sqlite3.DatabaseError)
_WRONG = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError,
          sqlite3.NotSupportedError, sqlite3.DataError)


# Awaited with (path, current version, target version) before migrations change a database.
BeforeMigrating = Callable[[Path, int, int], Awaitable[None]]

# A test's fault hook: called before each write commits; an exception it returns is raised
# there (the transaction is rolled back), as if SQLite had failed the write.
WriteFault = Callable[[], BaseException | None]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The numbered SQL files shipped in `bot/migrations`, in order, without gaps."""
    folder = resources.files("bot") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StoreError(
                f"migration {migration.name} is out of sequence (expected {expected:04d})"
            )
    return found


class Database:
    def __init__(self, connection: aiosqlite.Connection, path: Path,
                 reader: aiosqlite.Connection | None = None) -> None:
        self.connection = connection  # the writer (and migrations)
        self.reader = reader or connection
        self.path = path
        # The loop thread's own read connection (see INLINE_READ_STEPS); None until open()
        # has migrated the file.
        self.inline: sqlite3.Connection | None = None
        self.inline_read_steps = INLINE_READ_STEPS  # tests lower it
        self._checks_left = 0
        self.inline_reads = self.handed_over_reads = 0  # since start (tests read them)
        self._write_lock = asyncio.Lock()
        self.write_fault: WriteFault | None = None
        self.last_write_error: WriteFailure | None = None
        self.write_failures = 0  # since start, for status displays

    @classmethod
    async def open(cls, path: Path, *, migrate_to: int | None = None,
                   create: bool = True,
                   before_migrating: BeforeMigrating | None = None) -> Database:
        """Open (and migrate) the database at `path`. With `create` False a missing file is an
        error instead of a new, empty database. Whatever stops the file being used (a folder,
        a missing folder, not a database, damaged, read-only) is a StoreError that says so.
        `before_migrating(path, current, target)` is awaited before migrations change a
        database that already has a schema (the automatic backup, bot/core/backups.py); an
        exception from it stops the open with nothing changed."""
        check_location(path, create=create)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per unit
            # of work.
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise open_error(path, exc) from exc
        reader: aiosqlite.Connection | None = None
        try:
            connection.row_factory = aiosqlite.Row
            await connection.execute("PRAGMA journal_mode = WAL")
            await connection.execute("PRAGMA foreign_keys = ON")
            await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await connection.execute("PRAGMA synchronous = NORMAL")
            await connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            database = cls(connection, path)
            await database._refuse_foreign_schema()
            if before_migrating is not None:
                current, target = await database._pending_migration(migrate_to)
                if current and target > current:
                    await before_migrating(path, current, target)
            await database.migrate(migrate_to)
            # Opened after the migrations, so it never sees a schema that is about to change.
            reader = await aiosqlite.connect(path, isolation_level=None)
            reader.row_factory = aiosqlite.Row
            await reader.execute("PRAGMA query_only = ON")
            await reader.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
            await reader.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            database.reader = reader
            database._open_inline()
        except BaseException as exc:
            if reader is not None:
                await reader.close()
            await connection.close()
            cause = exc.__cause__ if isinstance(exc, StoreError) else exc
            if isinstance(cause, sqlite3.Error) and (
                    not isinstance(exc, StoreError) or _is_about_the_file(cause)):
                raise open_error(path, cause) from exc
            raise
        return database

    async def _refuse_foreign_schema(self) -> None:
        # Migrating another program's database would add this bot's tables to it. One statement,
        # so one snapshot: another process's first migration commits tables and version at once.
        async with self.connection.execute(
                "SELECT (SELECT user_version FROM pragma_user_version),"
                " (SELECT count(*) FROM sqlite_master"
                "  WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\')") as cursor:
            row = await cursor.fetchone()
        assert row is not None  # a SELECT without FROM gives exactly one row
        version, tables = row
        if version == 0 and tables:
            raise StoreError(
                f"{self.path} is a SQLite database, but not this bot's (it has tables and no "
                "schema version). Point DATABASE_PATH at the bot's database, or at a new file.")

    async def _pending_migration(self, target: int | None) -> tuple[int, int]:
        """The file's schema version and the one `migrate(target)` would bring it to."""
        migrations = load_migrations()
        latest = migrations[-1].version if migrations else 0
        return await self.user_version(), latest if target is None else min(target, latest)

    def _open_inline(self) -> None:
        inline = sqlite3.connect(self.path, isolation_level=None)
        try:
            inline.row_factory = aiosqlite.Row
            inline.execute("PRAGMA query_only = ON")
            # Never wait on the loop: a read that meets a lock goes to the reader's thread,
            # which waits (READ_BUSY_TIMEOUT_MS).
            inline.execute("PRAGMA busy_timeout = 0")
            inline.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            inline.set_progress_handler(self._inline_progress, _STEPS_PER_CHECK)
        except BaseException:
            inline.close()
            raise
        self.inline = inline

    def _inline_progress(self) -> int:
        self._checks_left -= 1
        return self._checks_left < 0  # non-zero interrupts the statement

    def read_on_loop(self, sql: str, params: tuple | dict) -> list[aiosqlite.Row] | None:
        """The rows of a read run here on the loop's thread, or None when it was stopped at
        INLINE_READ_STEPS or met a lock (nothing was changed: the connection only reads), for
        the caller to run it on the reader's thread instead."""
        inline = self.inline
        if inline is None:
            return None
        self._checks_left = self.inline_read_steps // _STEPS_PER_CHECK
        try:
            rows = inline.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            # Interrupted, busy or locked; anything else wrong with the query fails again,
            # with its own error, on the reader's thread.
            self.handed_over_reads += 1
            return None
        self.inline_reads += 1
        return rows

    async def close(self) -> None:
        if self.inline is not None:
            self.inline.close()
            self.inline = None
        if self.reader is not self.connection:
            await self.reader.close()
        await self.connection.close()

    # ---- write failures -------------------------------------------------------------------

    def _check_fault(self) -> None:
        if self.write_fault is not None:
            fault = self.write_fault()
            if fault is not None:
                raise fault

    def _unavailable(self, error: sqlite3.Error, *, queued: bool = False) -> StoreUnavailable:
        kind = classify_write_error(error)
        detail = str(error) or type(error).__name__
        # Waiting behind this process's own writers is a consequence: keep the cause on show.
        if not queued or self.last_write_error is None:
            self.last_write_error = WriteFailure(kind, detail, datetime.now(UTC))
        self.write_failures += 1
        return StoreUnavailable(kind, detail)

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        """This process's turn to write, waited for at most WRITE_LOCK_WAIT."""
        try:
            async with asyncio.timeout(WRITE_LOCK_WAIT):
                await self._write_lock.acquire()
        except TimeoutError:
            raise self._unavailable(sqlite3.OperationalError(
                "database is busy (other writes of this process are waiting)"),
                queued=True) from None
        try:
            yield
        finally:
            self._write_lock.release()

    async def data_version(self) -> int:
        """SQLite's data_version as the writer sees it: it changes when another process commits
        (this process's reader never writes, and the writer's own commits do not count)."""
        async with self.connection.execute("PRAGMA data_version") as cursor:
            row = await cursor.fetchone()
        assert row is not None  # this PRAGMA always gives one row
        return int(row[0])

    async def user_version(self) -> int:
        async with self.connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        assert row is not None  # this PRAGMA always gives one row
        return int(row[0])

    async def migrate(self, target: int | None = None) -> list[int]:
        """Apply every migration above the file's version, each in its own transaction."""
        migrations = load_migrations()
        latest = migrations[-1].version if migrations else 0
        current = await self.user_version()
        if current > latest:
            raise StoreError(
                f"{self.path} was written by a newer version of the bot (schema {current}; this "
                f"version knows up to {latest}). Upgrade the bot, or point DATABASE_PATH elsewhere."
            )
        target = latest if target is None else target
        applied: list[int] = []
        for migration in migrations:
            if current < migration.version <= target:
                await self._apply(migration)
                applied.append(migration.version)
        return applied

    async def _apply(self, migration: Migration) -> None:
        # executescript runs the file as is; BEGIN/COMMIT around it makes file + version atomic.
        script = (
            f"BEGIN IMMEDIATE;\n{migration.sql}\n"
            f"PRAGMA user_version = {migration.version};\nCOMMIT;"
        )
        async with self._write_lock:
            try:
                await self.connection.executescript(script)
            except Exception as exc:
                if self.connection.in_transaction:
                    await self.connection.execute("ROLLBACK")
                raise StoreError(f"migration {migration.name} failed: {exc}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialise writers: BEGIN IMMEDIATE ... COMMIT, rolled back on any error. A write
        SQLite refuses (busy, full, I/O) comes out as StoreUnavailable."""
        async with self._writer():
            try:
                # BEGIN inside the try: aiosqlite runs a queued statement even when its awaiter
                # was cancelled, so a cancellation here must still end in ROLLBACK, or the one
                # shared connection would stay inside a transaction for good.
                await self.connection.execute("BEGIN IMMEDIATE")
                yield self.connection
                self._check_fault()
                await self.connection.execute("COMMIT")
            except _WRONG:
                await self._rollback()
                raise
            except _REFUSED as exc:
                await self._rollback()
                raise self._unavailable(exc) from exc
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # Shielded so a second cancellation cannot interrupt the cleanup itself.
        async def rollback() -> None:
            # A statement whose awaiter was cancelled still runs on aiosqlite's thread: a BEGIN
            # not yet run, or a COMMIT under way (after which there is nothing to roll back).
            # Let it finish first, then look.
            await self.connection.execute("SELECT 1")
            if self.connection.in_transaction:
                await self.connection.execute("ROLLBACK")

        await asyncio.shield(rollback())

    # Each helper runs its read on the loop's thread within INLINE_READ_STEPS, or else as one
    # trip to aiosqlite's thread (execute, fetch and close as one call): on a busy event loop
    # each trip waits its turn, and a cursor used by hand takes three.
    async def fetch_all(self, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
        rows = self.read_on_loop(sql, params)
        if rows is None:
            rows = list(await self.reader.execute_fetchall(sql, params))
        return rows

    async def fetch_one(self, sql: str, params: tuple | dict = ()) -> aiosqlite.Row | None:
        """The first row of a query that returns at most a few rows (all are read)."""
        rows = await self.fetch_all(sql, params)
        return next(iter(rows), None)

    async def fetch_value(self, sql: str, params: tuple | dict = ()) -> Any:
        """The first column of the first row, None without a row: typed as any column of an
        aiosqlite.Row is (Any), for the caller to read as the column it asked for."""
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def write_one(self, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
        """One statement as its own transaction (SQLite makes a single statement atomic), for
        hot paths where BEGIN and COMMIT would triple the trips. Holds the write lock, so it
        can never land inside another task's open transaction; returns its RETURNING rows."""
        async with self._writer():
            try:
                self._check_fault()
                return list(await self.connection.execute_fetchall(sql, params))
            except _WRONG:
                raise
            except _REFUSED as exc:
                raise self._unavailable(exc) from exc

    async def repeat_while_changing(self, sql: str, params: tuple | dict = (), *,
                                    most: int) -> tuple[int, bool]:
        """Run one write statement again and again, at most `most` times, while each run
        changes at least two rows (SQLite's total_changes, a trigger's or a virtual table's own
        tables included: the figure FTS5's maintenance commands are read by). Returns the runs
        that changed something and whether the last found nothing left to do.

        Each run is a statement of its own, so reads take turns with the series; this process's
        writes wait for the whole of it (FTS5 starts a merge over when a write lands between
        two of its steps)."""
        async with self._writer():
            runs = 0
            while runs < most:
                before = self.connection.total_changes
                try:
                    self._check_fault()
                    await self.connection.execute_fetchall(sql, params)
                except _WRONG:
                    raise
                except _REFUSED as exc:
                    raise self._unavailable(exc) from exc
                if self.connection.total_changes - before < 2:
                    return runs, True
                runs += 1
            return runs, False

    async def backup(self, target: Path) -> None:
        """SQLite's online backup: consistent even while the bot keeps writing."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as destination:
            await self.reader.backup(destination)


# ---- why a database file cannot be used ------------------------------------------------------

def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


_FILE_ERRORS = frozenset({
    sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
})


def _is_about_the_file(error: sqlite3.Error) -> bool:
    """An error that says the file is unusable, as opposed to a mistake in a statement."""
    return _primary_code(error) in _FILE_ERRORS


def is_damage(error: sqlite3.Error) -> bool:
    """SQLite found the file is not a database, or a damaged one."""
    return _primary_code(error) in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def not_writable_reason(path: Path) -> str:
    """Why this process cannot write `path` (which it cannot), in words."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "is on a read-only file system"
    except (AttributeError, OSError):  # no statvfs on Windows
        pass
    return "is not writable by this user (check its owner and permissions)"


def open_error(path: Path, error: sqlite3.Error) -> StoreError:
    """What an SQLite error met while opening `path` means for the person running the bot."""
    detail = str(error) or type(error).__name__
    code = _primary_code(error)
    if code == sqlite3.SQLITE_NOTADB:
        return StoreError(
            f"{path} is not a SQLite database (another kind of file, or damaged beyond reading)."
            " Point DATABASE_PATH at the bot's database, or restore it from a backup.")
    if code == sqlite3.SQLITE_CORRUPT:
        return StoreError(
            f"{path} is damaged ({detail}). Stop the bot and restore the latest good backup; "
            f"`heartstopper-bot db check` shows what is wrong.")
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreError(
            f"{path} cannot be opened for writing ({detail}). Make the file, its folder and the "
            f"{path.name}-wal and -shm files beside it writable by this user, on a disk that is "
            "not read-only.")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(f"{path} is locked by another process ({detail}). Try again in a "
                          "moment.")
    if code == sqlite3.SQLITE_FULL:
        return StoreError(f"the disk holding {path} is full. Free some space and try again.")
    if code == sqlite3.SQLITE_IOERR:
        return StoreError(f"{path} could not be read or written ({detail}). Check the disk; "
                          "if it keeps failing, restore the latest good backup elsewhere.")
    return StoreError(f"{path} could not be opened ({detail}).")


def check_location(path: Path, *, create: bool) -> None:
    """Refuse, with what to do, a database path that cannot work, before SQLite sees it: a
    folder, a missing file (unless `create`), a missing or read-only folder, a read-only file.
    SQLite needs the folder writable too: it keeps `-wal` and `-shm` files beside the database."""
    try:
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a database file. Point DATABASE_PATH at "
                             f"a file, such as {path / 'heartstopper.db'}.")
        exists = path.exists()
        parent = path.parent
        parent_exists = parent.exists()
        parent_is_dir = parent.is_dir()
    except OSError as exc:
        raise StoreError(f"cannot look at {path} ({exc.strerror or exc}). Check that this user "
                         "may open the folders on the way to it.") from None
    if exists:
        if not os.access(path, os.R_OK):
            raise StoreError(f"{path} cannot be read by this user. Check its owner and "
                             "permissions.")
        if not os.access(path, os.W_OK):
            raise StoreError(f"{path} {not_writable_reason(path)}: the bot must write its "
                             "database. Fix that, or copy it somewhere writable.")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"the folder {parent} {not_writable_reason(parent)}: SQLite keeps "
                             f"{path.name}-wal and -shm files beside the database. Make it "
                             "writable, or move the database to a folder that is.")
        return
    if not create:
        raise StoreError(f"{path} does not exist. Check the path (DATABASE_PATH), or create "
                         "the database with `heartstopper-bot db init`.")
    if not parent_exists:
        raise StoreError(f"the folder {parent} does not exist. Create it, or point "
                         "DATABASE_PATH at a file in an existing folder.")
    if not parent_is_dir:
        raise StoreError(f"{parent} is a file, not a folder. Point DATABASE_PATH at a file in a "
                         "folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"cannot create {path}: the folder {parent} "
                         f"{not_writable_reason(parent)}. Make it writable, or point "
                         "DATABASE_PATH at a folder that is.")
