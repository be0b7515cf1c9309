"""Automatic backups (BACKUP_DIR, BACKUP_KEEP): real files written, checked and pruned; failures
reported, never raised; a backup before each migration of an existing database; the running
bot's daily task and what `/news status` shows."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core.backups import (
    BackupResult,
    Backups,
    before_migrating,
    existing_backups,
    make_backup,
)
from bot.core.config import Settings
from bot.core.database import Database
from bot.playground.harness import BotRunner, emulator_settings
from bot.store import Store, StoreError, load_migrations
from emulator import default_config
from emulator.testing import running_emulator
from tests.cli_helpers import LATEST, cli, corrupt_table_page, only_error_line
from tests.test_service_health_metrics import free_port

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


async def _seeded(path: Path) -> None:
    async with await Store.open(path) as store, store.database.transaction() as db:
        await db.execute("INSERT INTO quotes (text, speaker_name, status) "
                         "VALUES ('Hi.', 'Nick', 'canon')")


def _quotes_in(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        [(count,)] = connection.execute("SELECT count(*) FROM quotes").fetchall()
        [(check,)] = connection.execute("PRAGMA quick_check").fetchall()
    connection.close()
    assert check == "ok"
    return count


async def test_backups_are_written_checked_and_pruned(tmp_path: Path, db_path: Path) -> None:
    await _seeded(db_path)
    folder = tmp_path / "backups" / "daily"  # made when missing
    results = [await make_backup(db_path, folder, 3, now=T0 + timedelta(days=day))
               for day in range(5)]
    assert all(r.ok and r.error is None for r in results)
    kept = existing_backups(folder)
    assert [p.name for p in kept] == [
        "heartstopper-20261127-030000.db", "heartstopper-20261128-030000.db",
        "heartstopper-20261129-030000.db"]
    assert kept[-1] == results[-1].path
    assert all(_quotes_in(p) == 1 for p in kept)
    # Nothing half-written, nothing else touched.
    (folder / "notes.txt").write_text("mine")
    await make_backup(db_path, folder, 3, now=T0 + timedelta(days=9))
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("heartstopper-")) \
        == ["notes.txt"]
    assert len(existing_backups(folder)) == 3


async def test_a_failing_backup_is_reported_and_keeps_earlier_ones(tmp_path: Path,
                                                                   db_path: Path) -> None:
    await _seeded(db_path)
    folder = tmp_path / "backups"
    good = await make_backup(db_path, folder, 2, now=T0)
    assert good.ok
    # An unwritable backup folder: BACKUP_DIR under a file.
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    failed = await make_backup(db_path, blocker / "backups", 2, now=T0)
    assert not failed.ok and failed.path is None
    assert "cannot create the backup folder" in (failed.error or "")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        denied = await make_backup(db_path, locked, 2, now=T0)
        assert not denied.ok and "cannot write the backup" in (denied.error or "")
    # A damaged source is refused, and the good backups stay (pruning follows success only).
    corrupt_table_page(db_path, "quotes")
    for day in (1, 2, 3):
        damaged = await make_backup(db_path, folder, 2, now=T0 + timedelta(days=day))
        assert not damaged.ok and "is damaged" in (damaged.error or "")
    assert existing_backups(folder) == [good.path]


async def test_the_backups_object_counts_and_remembers(tmp_path: Path, db_path: Path) -> None:
    await _seeded(db_path)
    folder = tmp_path / "backups"
    clock = [T0]
    settings = Settings(database_path=db_path, backup_dir=folder, backup_keep=2)
    backups = Backups(settings, clock=lambda: clock[0])
    assert backups.enabled and backups.last is None
    first = await backups.run_once()
    assert backups.last == first and first.ok and backups.made == 1
    # After a restart the newest backup on disk is the last one, and the next waits its day.
    again = Backups(settings, clock=lambda: clock[0] + timedelta(hours=1))
    assert again.last is not None and again.last.path == first.path and again.last.ok
    assert again.last.reason == "found"
    assert again._first_wait() == pytest.approx(23 * 3600)
    corrupt_table_page(db_path, "quotes")
    clock[0] += timedelta(days=1)
    bad = await backups.run_once()
    assert not bad.ok and backups.last == bad and backups.failed == 1 and backups.made == 1
    off = Backups(Settings(database_path=db_path))
    assert not off.enabled
    off.start()
    assert not off.running


async def _old_database(path: Path, version: int) -> None:
    store = Store(await Database.open(path, migrate_to=version))
    async with store, store.database.transaction() as db:
        await db.execute("INSERT INTO quotes (text, speaker_name, status) "
                         "VALUES ('Hi.', 'Nick', 'canon')")


def test_a_backup_is_made_before_a_migration(tmp_path: Path, db_path: Path) -> None:
    older = LATEST - 1
    asyncio.run(_old_database(db_path, older))
    folder = tmp_path / "backups"
    assert cli(db_path, "db", "init", BACKUP_DIR=str(folder)) == 0
    [backup] = existing_backups(folder)
    assert backup.name.endswith(f"-before-v{LATEST}.db")
    with sqlite3.connect(backup) as connection:
        [(version,)] = connection.execute("PRAGMA user_version").fetchall()
    connection.close()
    assert version == older and _quotes_in(backup) == 1
    # Already at the latest version: nothing to back up. A new database: nothing either.
    assert cli(db_path, "db", "init", BACKUP_DIR=str(folder)) == 0
    assert cli(tmp_path / "new.db", "db", "init", BACKUP_DIR=str(folder)) == 0
    assert len(existing_backups(folder)) == 1
    assert load_migrations()[-1].version == LATEST


def test_a_failed_backup_stops_the_migration(tmp_path: Path, db_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_old_database(db_path, LATEST - 1))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    capsys.readouterr()
    assert cli(db_path, "db", "init", BACKUP_DIR=str(blocker / "backups")) == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"could not back up {db_path} before upgrading its schema" in line
    assert "Nothing was changed" in line
    with sqlite3.connect(db_path) as connection:
        [(version,)] = connection.execute("PRAGMA user_version").fetchall()
    connection.close()
    assert version == LATEST - 1
    hook = before_migrating(Settings(database_path=db_path, backup_dir=blocker / "b"))
    with pytest.raises(StoreError, match="Nothing was changed"):  # from Database.open as is
        asyncio.run(Database.open(db_path, before_migrating=hook))


async def test_the_running_bot_backs_up_and_news_status_shows_it(settings: Settings,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    settings = dataclasses.replace(settings, backup_dir=folder, backup_keep=2,
                                   metrics_port=free_port())
    async with running_emulator(default_config()) as emu:
        runner = BotRunner(emu, emulator_settings(settings, emu))
        bot = await runner.start()
        try:
            guild = emu.config.guilds[0].id
            backups = bot.backups
            assert backups is not None and backups.running  # the daily task is on
            status = await emu.invoke("news status", guild_id=guild, user="owner")
            assert "none yet" in str(status.embed)
            result = await backups.run_once()
            assert result.ok and result.path is not None and result.path.exists()
            status = await emu.invoke("news status", guild_id=guild, user="owner")
            text = str(status.embed)
            assert "Last backup" in text and "**ok**" in text and result.path.name in text
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
                async with http.get(url) as response:
                    samples = {(x.name, tuple(sorted(x.labels.items()))): x.value
                               for family in text_string_to_metric_families(await response.text())
                               for x in family.samples}
            assert samples[("heartstopper_backup_last_ok", ())] == 1
            assert samples[("heartstopper_backups", (("result", "ok"),))] >= 1
            assert samples[("heartstopper_backup_last_timestamp_seconds", ())] == pytest.approx(
                result.at.timestamp())
            backups.last = BackupResult(datetime.now(UTC), False, None, "the disk is full.")
            status = await emu.invoke("news status", guild_id=guild, user="owner")
            assert "**failed**" in str(status.embed) and "the disk is full." in str(status.embed)
        finally:
            await runner.stop()
        assert not backups.running  # stopped with the bot


async def test_the_daily_task_runs_on_its_own(tmp_path: Path, db_path: Path) -> None:
    await _seeded(db_path)
    settings = Settings(database_path=db_path, backup_dir=tmp_path / "b", backup_keep=2)
    backups = Backups(settings, interval=timedelta(seconds=0.05), first_delay=0)
    backups.start()
    try:
        for _ in range(200):
            if backups.made >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await backups.stop()
    assert backups.made >= 3 and backups.failed == 0
    assert len(existing_backups(tmp_path / "b")) <= 2
