"""One serving process per database.

Two bot processes on one database would both deliver every news post (each with its own pace,
so together twice Discord's budget: hundreds of 429s in a fan-out) and both run the daily quote
and the feed polls. `run` and the playground therefore hold an exclusive lock on a file beside
the database (`<database>.lock`) for as long as they serve. The operating system releases it
when the process ends in any way, a crash or SIGKILL included, so a stale lock file is harmless
and is never deleted (deleting it would let two processes lock two different files).

Only the serving commands take it: `db seed`, `db backup`, `db check`, `db stats` and `sync`
are meant to run beside a serving bot.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


class ServingLockError(RuntimeError):
    """The serving lock cannot be taken; the message says why and what to do."""


class AlreadyServing(ServingLockError):
    """Another process serves this database."""


def lock_path(database_path: Path) -> Path:
    # Resolved, so two spellings of one database (a symlink, a relative path) share one lock.
    real = database_path.resolve()
    return real.with_name(real.name + ".lock")


if sys.platform == "win32":  # pragma: no cover - untested here; the bot is run on Linux
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _holder(path: Path) -> int | None:
    """The pid the serving process wrote into the lock file, if it can be read."""
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text("ascii").split()[0])
    return None


@contextlib.contextmanager
def serving(database_path: Path) -> Iterator[Path]:
    """Hold the database's serving lock for the block, or raise AlreadyServing at once."""
    path = lock_path(database_path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ServingLockError(
            f"cannot create the lock file {path} ({exc.strerror or exc}): the bot keeps it "
            "beside the database while it serves. Make the database's folder writable.") from None
    try:
        if not _try_lock(fd):
            pid = _holder(path)
            who = f"another bot process (pid {pid})" if pid else "another bot process"
            raise AlreadyServing(
                f"{who} is already serving {database_path}. Stop it first, or point "
                "DATABASE_PATH at another database: two would both deliver every news post and "
                "run into Discord's rate limits. (db commands work while it runs.)")
        # The pid after a leading newline: on Windows the first byte is the locked one.
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"\n{os.getpid()}\n".encode("ascii"))
        yield path
    finally:
        os.close(fd)  # releases the lock
