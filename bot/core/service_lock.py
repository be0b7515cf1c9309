"""Who may serve a database: one process for all of its servers, or one per shard slice.

Two bot processes answering the same servers would both answer every command in them. `run`
and the playground therefore lock files beside the database for as long as they serve:
- without SHARD_IDS (all shards, or none), an exclusive lock on `<database>.lock`: no other
  serving process at all;
- with SHARD_IDS, a shared lock on `<database>.lock` (so processes serving different slices may
  share the database, and one serving everything is refused) and an exclusive lock on
  `<database>.shard-N.lock` for each shard N it runs (so two processes on one shard are refused).

Background work (news delivery, feeds, the quote of the day) runs in one process of those sharing
a database whatever the locks say: bot/core/leadership.py chooses it through the database.

The operating system releases the locks when the process ends in any way, a crash or SIGKILL
included, so a stale lock file is harmless and is never deleted (deleting it would let two
processes lock two different files).

Only the serving commands take it: `db seed`, `db backup`, `db check`, `db stats` and `sync`
are meant to run beside a serving bot.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path


class ServingLockError(RuntimeError):
    """The serving lock cannot be taken; the message says why and what to do."""


class AlreadyServing(ServingLockError):
    """Another process serves this database."""


def lock_path(database_path: Path) -> Path:
    # Resolved, so two spellings of one database (a symlink, a relative path) share one lock.
    real = database_path.resolve()
    return real.with_name(real.name + ".lock")


def shard_lock_path(database_path: Path, shard: int) -> Path:
    real = database_path.resolve()
    return real.with_name(f"{real.name}.shard-{shard}.lock")


if sys.platform == "win32":  # pragma: no cover - untested here; the bot is run on Linux
    import msvcrt

    def _try_lock(fd: int, *, shared: bool = False) -> bool:
        # No shared locks here: a process serving a shard slice locks the database whole.
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    def _wait_lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
else:
    import fcntl

    def _try_lock(fd: int, *, shared: bool = False) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _wait_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _holder(path: Path) -> int | None:
    """The pid the serving process wrote into the lock file, if it can be read."""
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text("ascii").split()[0])
    return None


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ServingLockError(
            f"cannot create the lock file {path} ({exc.strerror or exc}): the bot keeps it "
            "beside the database while it serves. Make the database's folder writable.") from None


def _write_pid(fd: int) -> None:
    # The pid after a leading newline: on Windows the first byte is the locked one.
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"\n{os.getpid()}\n".encode("ascii"))


def _who(path: Path) -> str:
    pid = _holder(path)
    return f"another bot process (pid {pid})" if pid else "another bot process"


@contextlib.contextmanager
def serving(database_path: Path, shards: Sequence[int] | None = None) -> Iterator[Path]:
    """Hold the database's serving lock for the block, or raise AlreadyServing at once.
    `shards`: the shard ids this process runs (SHARD_IDS), None for all of them."""
    path = lock_path(database_path)
    fds: list[int] = []
    try:
        fd = _open(path)
        fds.append(fd)
        if shards is None:
            _lock_whole(fd, path, database_path)
        else:
            _lock_slice(fd, path, database_path, shards, fds)
        yield path
    finally:
        for fd in reversed(fds):
            os.close(fd)  # releases the lock


def _lock_whole(fd: int, path: Path, database_path: Path) -> None:
    if _try_lock(fd):
        _write_pid(fd)
        return
    if _try_lock(fd, shared=True):  # held shared: processes serving shard slices
        _unlock(fd)
        raise AlreadyServing(
            f"bot processes serving shards of {database_path} (SHARD_IDS) are running. Stop "
            "them first, or give this process a SHARD_IDS slice of its own (with the same "
            "SHARD_COUNT).")
    raise AlreadyServing(
        f"{_who(path)} is already serving {database_path}. Stop it first, or point "
        "DATABASE_PATH at another database: two would both answer every command. (db commands "
        "work while it runs.)")


def _lock_slice(fd: int, path: Path, database_path: Path, shards: Sequence[int],
                fds: list[int]) -> None:
    if not _try_lock(fd, shared=True):
        raise AlreadyServing(
            f"{_who(path)} is serving every server of {database_path} (it runs without "
            "SHARD_IDS). Stop it first, or run it with a SHARD_IDS slice of its own too.")
    for shard in shards:
        shard_path = shard_lock_path(database_path, shard)
        shard_fd = _open(shard_path)
        fds.append(shard_fd)
        if not _try_lock(shard_fd):
            raise AlreadyServing(
                f"{_who(shard_path)} is already serving shard {shard} of {database_path}. Stop "
                "it first, or give this process other SHARD_IDS: two processes on one shard "
                "would both answer its servers' commands.")
        _write_pid(shard_fd)


@contextlib.contextmanager
def preparing(database_path: Path) -> Iterator[None]:
    """Processes starting together (shard slices under one service manager) take turns to
    create, migrate and seed the database: two migrating it at once would both try to make
    the same tables. Waits for the turn."""
    real = database_path.resolve()
    fd = _open(real.with_name(real.name + ".setup.lock"))
    try:
        _wait_lock(fd)
        yield
    finally:
        os.close(fd)
