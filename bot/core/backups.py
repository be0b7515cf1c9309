"""Automatic backups (BACKUP_DIR, BACKUP_KEEP): once a day while the bot runs, and before a
migration changes an existing database.

Each backup is `db backup`'s (bot/core/maintenance.py): SQLite's online backup of a source that
passed PRAGMA quick_check, written beside its final name and moved into place. The written file
is then checked with PRAGMA quick_check too, and only after a good backup are the oldest ones
beyond BACKUP_KEEP deleted, so a failing backup never costs an earlier good one. Failures are
logged and kept in `Backups.last`; they never stop the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.config import Settings
from bot.core.database import BeforeMigrating, StoreError

log = logging.getLogger(__name__)

BACKUP_INTERVAL = timedelta(days=1)
# After a start, the first daily backup waits this long (the start's own work comes first),
# unless the newest backup in the folder is recent enough to wait for its day to pass.
FIRST_BACKUP_DELAY = 60.0
PREFIX = "heartstopper-"
# heartstopper-20261125-120000.db, heartstopper-20261125-120000-before-v12.db: the UTC time
# first, so the names sort oldest first.
_NAME = re.compile(r"^heartstopper-(\d{8}-\d{6})(?:-[a-z0-9-]+)?\.db$")


@dataclass(frozen=True, slots=True)
class BackupResult:
    """One backup: when it was made, whether it worked, the file and, if not, why."""

    at: datetime
    ok: bool
    path: Path | None
    error: str | None = None
    reason: str = "daily"  # 'daily', 'before migration to N', 'found' (made before this start)


def backup_name(at: datetime, suffix: str = "") -> str:
    stamp = at.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{PREFIX}{stamp}{'-' + suffix if suffix else ''}.db"


def existing_backups(folder: Path) -> list[Path]:
    """The bot's backups in `folder`, oldest first (by the time in their names)."""
    try:
        found = [p for p in folder.iterdir() if _NAME.match(p.name) and p.is_file()]
    except OSError:
        return []
    # The name's time first: every name in `found` matched _NAME.
    return sorted(found, key=lambda p: (_NAME.sub(r"\1", p.name), p.name))


def _stamp_of(path: Path) -> datetime:
    match = _NAME.match(path.name)
    assert match is not None
    return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete the oldest backups beyond `keep`; returns what was deleted."""
    backups = existing_backups(folder)
    doomed = backups[:max(0, len(backups) - keep)]
    for path in doomed:
        try:
            path.unlink()
        except OSError as exc:
            log.warning("could not delete the old backup %s: %s", path, exc)
    return doomed


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the backup folder {folder} ({exc.strerror or exc}). "
                         "Create it, writable by the bot's user, or fix BACKUP_DIR.") from None


async def quick_check(path: Path) -> list[str]:
    """PRAGMA quick_check of a written backup: [] when sound."""
    from bot.core.maintenance import MAX_PROBLEMS, _pragma_rows, _reading

    try:
        async with _reading(path) as db:
            return [row[0] for row in await _pragma_rows(db, f"quick_check({MAX_PROBLEMS})")
                    if row[0] != "ok"]
    except sqlite3.DatabaseError as exc:
        return [str(exc) or type(exc).__name__]


async def make_backup(source: Path, folder: Path, keep: int, *, now: datetime,
                      suffix: str = "", reason: str = "daily") -> BackupResult:
    """Back `source` up into `folder`, check the copy, then prune beyond `keep`. Never raises
    for an expected failure (unwritable folder, damaged source, full disk): the result says."""
    from bot.core.maintenance import backup_database

    target = folder / backup_name(now, suffix)
    try:
        _make_folder(folder)
        await backup_database(source, target)
        problems = await quick_check(target)
        if problems:
            with contextlib.suppress(OSError):
                target.unlink()
            raise StoreError(f"the backup written to {target} failed PRAGMA quick_check "
                             f"({problems[0]}), so it was deleted. Check the disk.")
    except (StoreError, OSError, sqlite3.Error) as exc:
        message = str(exc) or type(exc).__name__
        log.error("backup of %s failed: %s", source, message)
        return BackupResult(now, False, None, message, reason)
    deleted = prune(folder, keep)
    log.info("backed up %s to %s (checked; %d old backup(s) deleted)", source, target,
             len(deleted))
    return BackupResult(now, True, target, None, reason)


class Backups:
    """The bot's automatic backups. `last` (a BackupResult or None), `made` and `failed` (since
    start) are for status displays and metrics; `enabled` says whether BACKUP_DIR is set."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None,
                 interval: timedelta = BACKUP_INTERVAL,
                 first_delay: float = FIRST_BACKUP_DELAY) -> None:
        self.settings = settings
        self.folder = settings.backup_dir
        self.keep = settings.backup_keep
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.interval = interval
        self.first_delay = first_delay
        self.last: BackupResult | None = None
        self.made = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        if self.folder is not None:
            newest = existing_backups(self.folder)[-1:]
            if newest:
                self.last = BackupResult(_stamp_of(newest[0]), True, newest[0], None, "found")

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run_once(self) -> BackupResult:
        assert self.folder is not None, "BACKUP_DIR is not set"
        result = await make_backup(self.settings.database_path, self.folder, self.keep,
                                   now=self.clock())
        self.last = result
        if result.ok:
            self.made += 1
        else:
            self.failed += 1
        return result

    def start(self) -> None:
        if self.enabled and not self.running:
            self._task = asyncio.create_task(self._loop(), name="daily-backups")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _first_wait(self) -> float:
        """Seconds until the first backup: the newest backup's day must pass first."""
        wait = self.first_delay
        if self.last is not None and self.last.ok:
            due = (self.last.at + self.interval - self.clock()).total_seconds()
            wait = max(wait, due)
        return wait

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_wait())
        while True:
            try:
                await self.run_once()
            except Exception:  # a bug: logged, and the next day tries again
                log.exception("the daily backup failed unexpectedly")
            await asyncio.sleep(self.interval.total_seconds())


def before_migrating(settings: Settings, *,
                     clock: Callable[[], datetime] | None = None) -> BeforeMigrating | None:
    """Database.open's hook when BACKUP_DIR is set: back the database up before migrations
    change it. A failed backup stops the migration (StoreError), so the operator who asked for
    backups never loses the pre-upgrade state to a failed upgrade."""
    if settings.backup_dir is None:
        return None
    folder = settings.backup_dir

    async def hook(path: Path, current: int, target: int) -> None:
        now = (clock or (lambda: datetime.now(UTC)))()
        result = await make_backup(path, folder, settings.backup_keep, now=now,
                                   suffix=f"before-v{target}",
                                   reason=f"before migration to {target}")
        if not result.ok:
            raise StoreError(f"could not back up {path} before upgrading its schema from "
                             f"version {current} to {target}: {result.error} Nothing was "
                             "changed. Fix BACKUP_DIR (or unset it to upgrade without a "
                             "backup), then start again.")
        log.info("backed up %s to %s before migrating to schema %d", path, result.path, target)

    return hook


def status_line(backups: Backups | None) -> str:
    """The last backup, for `/news status`: time (a Discord timestamp) and result."""
    import discord

    from bot.core.formatting import truncate

    if backups is None or not backups.enabled:
        return "off (set BACKUP_DIR to back the database up daily)"
    last = backups.last
    keep = f"keeping {backups.keep}"
    if last is None:
        return f"none yet; the first is due a minute after start · {keep}"
    when = discord.utils.format_dt(last.at, "R")
    if last.ok:
        name = last.path.name if last.path is not None else "?"
        made = "found in the folder" if last.reason == "found" else last.reason
        return f"**ok** {when}: `{name}` ({made}, checked) · {keep}"
    return truncate(f"**failed** {when}: {last.error} · {keep}", 1000)
