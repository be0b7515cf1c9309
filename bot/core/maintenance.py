"""Looking after a database file from outside the bot: `db check` and `db backup`.

Both read the file through a connection of their own that never writes, so they are safe while
the bot runs, and neither ever creates the database: a missing file is an error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.core.database import (
    READ_BUSY_TIMEOUT_MS,
    Migration,
    StoreError,
    is_damage,
    load_migrations,
    not_writable_reason,
    open_error,
)

# integrity_check stops after this many problems: enough to tell what is wrong.
MAX_PROBLEMS = 20
_SQLITE_HEADER = b"SQLite format 3\x00"
_USER_VERSION_OFFSET = 60  # PRAGMA user_version is stored in the header, big-endian


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What `check_database` found. `damage`: SQLite's integrity and foreign-key checks (or why
    the file cannot be read at all). `schema_problems`: tables, indexes, triggers that are not
    what the migrations up to `schema_version` make."""

    path: Path
    damage: tuple[str, ...]
    schema_version: int | None  # None when the file could not be read
    latest: int
    schema_problems: tuple[str, ...] = ()
    empty: bool = False  # no tables yet: `run` or `db init` creates them

    @property
    def newer(self) -> bool:
        """Written by a newer version of the bot: this version cannot judge or use it."""
        return self.schema_version is not None and self.schema_version > self.latest

    @property
    def foreign(self) -> bool:
        """Another program's SQLite database (tables, but no schema version of ours)."""
        return self.schema_version == 0 and not self.empty

    @property
    def sound(self) -> bool:
        return not self.damage and not self.schema_problems


def _must_exist(path: Path, what: str) -> None:
    try:
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a database file. Give the path of the "
                             f"{what} file itself.")
        if not path.exists():
            raise StoreError(f"{path} does not exist. Check the path (DATABASE_PATH, or the one "
                             "given).")
    except OSError as exc:
        raise StoreError(f"cannot look at {path} ({exc.strerror or exc}).") from None


@contextlib.asynccontextmanager
async def _reading(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A connection to an existing file that only reads. Read-write where the file and its
    folder allow it, so that when it is the last connection to close, SQLite takes away the
    `-wal` and `-shm` files it made; read-only otherwise (a backup on read-only media)."""
    _must_exist(path, "database")
    try:
        connection = await aiosqlite.connect(_reading_uri(path), uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise open_error(path, exc) from exc
    try:
        await connection.execute("PRAGMA query_only = ON")
        await connection.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
        yield connection
    finally:
        await connection.close()


def _reading_uri(path: Path) -> str:
    # mode=rw or ro, never rwc: the file is never created, whatever happens to it meanwhile.
    uri = path.resolve().as_uri()
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK):
        return f"{uri}?mode=rw"
    if _on_read_only_file_system(path):
        # SQLite cannot make the -shm file a WAL database needs there, but nothing can change
        # the file either: immutable says so, and SQLite reads it without locks or -shm.
        return f"{uri}?mode=ro&immutable=1"
    return f"{uri}?mode=ro"


def _on_read_only_file_system(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs on Windows
        return False


def _damage_text(error: sqlite3.Error) -> str:
    if "not a database" in str(error):
        return "not a SQLite database (another kind of file, or damaged beyond reading)"
    return str(error)


async def _pragma_rows(db: aiosqlite.Connection, pragma: str) -> list[tuple]:
    return [tuple(row) for row in await db.execute_fetchall(f"PRAGMA {pragma}")]


async def _schema(db: aiosqlite.Connection) -> dict[str, tuple[str, str | None]]:
    # SQLite's own objects (autoindexes, sqlite_sequence, sqlite_stat1) follow from the rest or
    # come and go with ANALYZE: not part of what the migrations define.
    rows = await db.execute_fetchall(
        "SELECT name, type, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    return {row[0]: (row[1], row[2]) for row in rows}


async def _expected_schema(migrations: list[Migration],
                           version: int) -> dict[str, tuple[str, str | None]]:
    """The schema the migrations up to `version` make, built in memory."""
    async with aiosqlite.connect(":memory:", isolation_level=None) as reference:
        for migration in migrations:
            if migration.version <= version:
                await reference.executescript(migration.sql)
        return await _schema(reference)


def _compare(found: dict[str, tuple[str, str | None]],
             expected: dict[str, tuple[str, str | None]]) -> list[str]:
    problems = [f"{kind} {name} is missing"
                for name, (kind, _) in sorted(expected.items()) if name not in found]
    problems += [f"{kind} {name} is not as the bot defines it"
                 for name, (kind, sql) in sorted(found.items())
                 if name in expected and expected[name] != (kind, sql)]
    problems += [f"{kind} {name} is not one of the bot's"
                 for name, (kind, _) in sorted(found.items()) if name not in expected]
    return problems


async def check_database(path: Path) -> CheckReport:
    """SQLite's integrity_check and foreign_key_check, and the schema against the migrations
    this bot knows. Raises StoreError only when there is no file to check."""
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    async with _reading(path) as db:
        try:
            damage = [row[0] for row in await _pragma_rows(db, f"integrity_check({MAX_PROBLEMS})")
                      if row[0] != "ok"]
            if not damage:
                broken: dict[tuple[str, str], int] = {}
                for table, _rowid, parent, _fk in await _pragma_rows(db, "foreign_key_check"):
                    broken[(table, parent)] = broken.get((table, parent), 0) + 1
                damage += [f"{count} row(s) of {table} refer to {parent} rows that do not exist"
                           for (table, parent), count in sorted(broken.items())]
            [(version,)] = await _pragma_rows(db, "user_version")
            found = await _schema(db)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise open_error(path, exc) from exc
            return CheckReport(path, (_damage_text(exc),), None, latest)
    if version > latest or (version == 0 and found):
        return CheckReport(path, tuple(damage), version, latest, empty=not found)
    problems = _compare(found, await _expected_schema(migrations, version))
    return CheckReport(path, tuple(damage), version, latest, tuple(problems), empty=not found)


# ---- backup ----------------------------------------------------------------------------------

def _check_backup_target(source: Path, target: Path) -> None:
    """Refuse a target that cannot take a backup, or whose contents a backup would destroy."""
    try:
        if target.resolve() == source.resolve():
            raise StoreError("the backup path must differ from DATABASE_PATH. Give another file "
                             "name.")
        if target.is_dir():
            raise StoreError(f"{target} is a folder. Give the backup a file name, such as "
                             f"{target / (source.stem + '-backup.db')}.")
        parent = target.parent
        if not parent.exists():
            raise StoreError(f"the folder {parent} does not exist. Create it first, or choose "
                             "another path for the backup.")
        if not parent.is_dir():
            raise StoreError(f"{parent} is a file, not a folder. Choose another path for the "
                             "backup.")
        if target.exists() and target.stat().st_size > 0:
            with target.open("rb") as file:
                header = file.read(_USER_VERSION_OFFSET + 4)
            user_version = int.from_bytes(header[_USER_VERSION_OFFSET:], "big")
            if not header.startswith(_SQLITE_HEADER) or user_version == 0:
                raise StoreError(f"{target} exists and is not a backup of this bot's database, "
                                 "so it is not overwritten. Choose another path, or move that "
                                 "file away first.")
            if Path(f"{target}-wal").exists():
                raise StoreError(f"{target} is open in another program ({target.name}-wal "
                                 "exists beside it), so it is not overwritten. Close it, or "
                                 "choose another path.")
    except OSError as exc:
        raise StoreError(f"cannot look at {target} ({exc.strerror or exc}). Choose a path this "
                         "user can read and write.") from None


def _cannot_write(folder: Path, exc: OSError) -> StoreError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = not_writable_reason(folder)
    else:
        reason = f"cannot be written ({exc.strerror or exc})"
    return StoreError(f"cannot write the backup: the folder {folder} {reason}. Choose a folder "
                      "this user can write to.")


def _new_partial(source: Path, target: Path) -> Path:
    """An empty file beside the target, with the database's permissions, to copy into."""
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".partial")
    except OSError as exc:
        raise _cannot_write(target.parent, exc) from None
    os.close(handle)
    with contextlib.suppress(OSError):  # the copy is as private as the database
        os.chmod(name, source.stat().st_mode & 0o777)
    return Path(name)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


async def backup_database(source: Path, target: Path) -> None:
    """Copy `source` to `target` with SQLite's online backup (consistent even while the bot
    writes). The source is checked first (PRAGMA quick_check): a damaged database is refused,
    not copied. The copy is written beside the target and moved into place once complete, so
    a failed backup never leaves a half-written file, or destroys an earlier backup there."""
    _check_backup_target(source, target)
    async with _reading(source) as db:
        try:
            damage = [row[0] for row in await _pragma_rows(db, f"quick_check({MAX_PROBLEMS})")
                      if row[0] != "ok"]
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise open_error(source, exc) from exc
            damage = [_damage_text(exc)]
        if damage:
            raise StoreError(
                f"{source} is damaged ({damage[0]}), so no backup was made: it would carry the "
                "damage. Run `heartstopper-bot db check`, and restore the latest good backup.")
        partial = _new_partial(source, target)
        try:
            try:
                async with aiosqlite.connect(partial) as destination:
                    await db.backup(destination)
                os.replace(partial, target)
            except sqlite3.Error as exc:
                raise StoreError(f"could not write the backup to {target} ({exc}). Check the "
                                 "disk and free space, then try again.") from exc
            except OSError as exc:
                raise _cannot_write(target.parent, exc) from None
        finally:
            _discard(partial)  # gone already once moved into place
