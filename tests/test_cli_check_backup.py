"""`db check` and `db backup` on real files: sound, damaged, missing, mistaken targets."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from bot.core.database import Database
from tests.cli_helpers import LATEST, cli, corrupt_table_page, only_error_line


async def cli_async(db: Path, *args: str) -> int:
    # main() runs its own event loop: from an async test, it runs in a worker thread.
    return await asyncio.to_thread(cli, db, *args)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    assert cli(path, "db", "seed") == 0
    return path


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        [(version,)] = connection.execute("PRAGMA user_version").fetchall()
    connection.close()
    return version


# ---- db check ------------------------------------------------------------------------------------

def test_check_a_sound_database(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli(db, "db", "check") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{db}: sound"
    assert f"schema: version {LATEST}, the latest this bot knows" in out
    assert "as the migrations make them" in out
    # Reading left nothing behind: no -wal or -shm beside it once closed.
    assert sorted(p.name for p in db.parent.iterdir()) == ["bot.db"]


def test_check_names_a_damaged_table_page(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt_table_page(db, "characters")
    capsys.readouterr()
    assert cli(db, "db", "check") == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"{db}: DAMAGED"
    line = only_error_line(captured.err)
    assert f"{db} is damaged" in line and "restore the latest good backup" in line


@pytest.mark.parametrize("keep", [50, 20_000])
def test_check_a_truncated_database(db: Path, keep: int,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    with db.open("r+b") as file:
        file.truncate(keep)
    assert cli(db, "db", "check") == 1
    assert "is damaged" in only_error_line(capsys.readouterr().err)


def test_check_a_text_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database at all\n")
    assert cli(path, "db", "check") == 1
    captured = capsys.readouterr()
    assert "not a SQLite database" in captured.out
    assert "is damaged (not a SQLite database" in only_error_line(captured.err)


def test_check_a_missing_file_is_a_usage_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path / "bot.db", "db", "check") == 2
    assert f"{tmp_path / 'bot.db'} does not exist" in only_error_line(capsys.readouterr().err)
    assert not os.listdir(tmp_path)
    assert cli(tmp_path, "db", "check") == 2
    assert "is a folder" in only_error_line(capsys.readouterr().err)


def test_check_finds_a_missing_index_and_broken_references(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute("DROP INDEX quotes_by_speaker")
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("INSERT INTO character_aliases (character_id, alias) "
                           "VALUES (999999, 'Nobody')")
    connection.close()
    capsys.readouterr()
    assert cli(db, "db", "check") == 1
    out = capsys.readouterr().out
    assert "index quotes_by_speaker is missing" in out
    assert "character_aliases refer to characters rows that do not exist" in out


async def test_check_an_older_schema_is_sound_and_says_it_upgrades(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.db"
    database = await Database.open(old, migrate_to=5)
    await database.close()
    assert await cli_async(old, "db", "check") == 0
    out = capsys.readouterr().out
    assert f"schema: version 5, this bot upgrades it to {LATEST}" in out
    assert user_version(old) == 5  # checking never migrates


def test_check_a_newer_schema_is_a_usage_error(db: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(f"PRAGMA user_version = {LATEST + 1}")
    connection.close()
    assert cli(db, "db", "check") == 2
    assert "newer version of the bot" in only_error_line(capsys.readouterr().err)


def test_check_another_programs_database(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    connection.close()
    assert cli(other, "db", "check") == 2
    assert "not this bot's" in only_error_line(capsys.readouterr().err)


def test_check_takes_a_path_such_as_a_backup(db: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy.db"
    assert cli(db, "db", "backup", str(copy)) == 0
    corrupt_table_page(db, "characters")
    capsys.readouterr()
    assert cli(db, "db", "check", str(copy)) == 0
    assert capsys.readouterr().out.startswith(f"{copy}: sound")


# ---- db backup -----------------------------------------------------------------------------------

def test_backup_of_a_damaged_database_is_refused(db: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    corrupt_table_page(db, "characters")
    target = tmp_path / "copy.db"
    assert cli(db, "db", "backup", str(target)) == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{db} is damaged" in line and "no backup was made" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.db"]


def test_backup_to_a_folder(db: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert cli(db, "db", "backup", str(folder)) == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{folder} is a folder. Give the backup a file name" in line
    assert not os.listdir(folder)


def test_backup_into_a_missing_folder(db: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(db, "db", "backup", str(tmp_path / "nope" / "copy.db")) == 2
    assert f"the folder {tmp_path / 'nope'} does not exist" in only_error_line(
        capsys.readouterr().err)
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("content", [b"important notes\n", b"SQLite format 3\x00" + bytes(84)])
def test_backup_never_overwrites_a_file_that_is_not_one(
        db: Path, tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_bytes(content)
    assert cli(db, "db", "backup", str(target)) == 2
    assert "is not a backup of this bot's database, so it is not overwritten" in only_error_line(
        capsys.readouterr().err)
    assert target.read_bytes() == content


def test_backup_replaces_an_earlier_backup(db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    assert cli(db, "db", "backup", str(target)) == 0
    with sqlite3.connect(db) as connection:
        connection.execute("INSERT INTO sources (seed_key, title) VALUES ('new', 'New')")
    connection.close()
    assert cli(db, "db", "backup", str(target)) == 0
    with sqlite3.connect(target) as connection:
        assert connection.execute(
            "SELECT count(*) FROM sources WHERE seed_key = 'new'").fetchone() == (1,)
    connection.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.db", "copy.db"]


def test_backup_of_a_missing_database_creates_nothing(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path / "bot.db", "db", "backup", str(tmp_path / "copy.db")) == 2
    assert "does not exist" in only_error_line(capsys.readouterr().err)
    assert not os.listdir(tmp_path)


async def test_backup_copies_an_older_database_as_it_is(tmp_path: Path) -> None:
    # Backing up before an upgrade must not upgrade first.
    old = tmp_path / "old.db"
    database = await Database.open(old, migrate_to=3)
    await database.close()
    assert await cli_async(old, "db", "backup", str(tmp_path / "copy.db")) == 0
    assert user_version(old) == 3
    assert user_version(tmp_path / "copy.db") == 3
