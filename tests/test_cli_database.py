"""The database path as operators get it wrong: every case ends in one line and exit code 2 (or
the verdict of `db check`), never a traceback, never a file nobody asked for.

Permission cases run the CLI as a real process that cannot write: as `nobody` when the tests run
as root (root writes through any mode bits), as the test's own user otherwise. The read-only
file system case mounts a tmpfs read-only in a private mount namespace (root only)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot.cli
from bot.core.database import Database
from tests.cli_helpers import cli, corrupt_table_page, only_error_line

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAKE_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz012345"


# ---- helpers -----------------------------------------------------------------------------------

def seeded_database(path: Path) -> Path:
    assert cli(path, "db", "seed") == 0
    return path


# ---- a path that is not a usable database -------------------------------------------------------

def test_stats_on_a_mistyped_path_creates_nothing(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "heartstoper.db"
    assert cli(db, "db", "stats") == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{db} does not exist" in line and "db init" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [("db", "stats"), ("db", "init"), ("db", "seed")])
def test_a_text_file_is_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       command: tuple[str, ...]) -> None:
    db = tmp_path / "notes.db"
    db.write_text("my shopping list\n")
    assert cli(db, *command) == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{db} is not a SQLite database" in line and "restore it from a backup" in line
    assert db.read_text() == "my shopping list\n"


@pytest.mark.parametrize("keep", [50, 4096, 20_000])
def test_a_truncated_database_is_named_damaged(tmp_path: Path, keep: int,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = seeded_database(tmp_path / "bot.db")
    with db.open("r+b") as file:
        file.truncate(keep)
    assert cli(db, "db", "stats") == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{db} is damaged" in line and "restore the latest good backup" in line


def test_damage_met_after_opening_is_one_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # The open succeeds (the header and schema are fine); the seed then writes to the
    # damaged table.
    db = seeded_database(tmp_path / "bot.db")
    corrupt_table_page(db, "characters")
    assert cli(db, "db", "seed") == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{db} is damaged" in line and "db check" in line


@pytest.mark.parametrize("command", [("db", "stats"), ("db", "init"), ("db", "seed")])
def test_a_folder_at_database_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   command: tuple[str, ...]) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    assert cli(folder, *command) == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{folder} is a folder, not a database file" in line
    assert str(folder / "heartstopper.db") in line
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", [("db", "init"), ("db", "seed")])
def test_a_missing_folder_is_reported_not_made(tmp_path: Path, command: tuple[str, ...],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "dta" / "bot.db"
    assert cli(db, *command) == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"the folder {tmp_path / 'dta'} does not exist" in line
    assert not (tmp_path / "dta").exists()


def test_the_default_data_folder_is_made_when_missing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "data" / "heartstopper.db"
    monkeypatch.setattr(bot.cli, "DEFAULT_DATABASE", default)
    assert cli(default, "db", "init") == 0
    assert default.is_file()


@pytest.mark.parametrize("command", [("db", "init"), ("db", "stats")])
def test_another_programs_database_is_not_migrated(tmp_path: Path, command: tuple[str, ...],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    connection.close()
    assert cli(db, *command) == 2
    line = only_error_line(capsys.readouterr().err)
    assert "not this bot's" in line
    with sqlite3.connect(db) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master")]
    connection.close()
    assert names == ["invoices"]


def test_run_refuses_a_damaged_database_before_connecting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = seeded_database(tmp_path / "bot.db")
    with db.open("r+b") as file:
        file.truncate(20_000)
    assert cli(db, "run", DISCORD_TOKEN=FAKE_TOKEN,
               DISCORD_API_BASE="http://127.0.0.1:9/api/v10") == 2
    line = only_error_line(capsys.readouterr().err)
    assert f"{db} is damaged" in line
    assert FAKE_TOKEN not in line


# ---- a database this user cannot write ----------------------------------------------------------

@pytest.fixture(scope="module")
def unprivileged() -> list[str]:
    """Argv prefix for a process that cannot write where its mode bits say so."""
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: no user to drop to")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import bot.cli"], cwd=PROJECT_ROOT,
                           capture_output=True, check=False, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"the unprivileged user cannot run the bot here: {probe.stderr[-200:]!r}")
    return prefix


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's private tmp tree, so the unprivileged user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="hs-cli-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o777)
        shutil.rmtree(folder)


def cli_process(prefix: list[str], db: Path, *args: str,
                **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
    environment.update(DATABASE_PATH=str(db), DISCORD_TOKEN="", LOG_LEVEL="WARNING")
    environment.update(env)
    return subprocess.run([*prefix, sys.executable, "-m", "bot", "--env-file", os.devnull, *args],
                          cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True,
                          check=False, timeout=60)


def test_a_read_only_database_file(unprivileged: list[str], shared_dir: Path) -> None:
    db = seeded_database(shared_dir / "bot.db")
    db.chmod(0o444)
    # Without the check `run` opened it (reads work), then failed every write while serving.
    done = cli_process(unprivileged, db, "run", DISCORD_TOKEN=FAKE_TOKEN,
                       DISCORD_API_BASE="http://127.0.0.1:9/api/v10")
    assert done.returncode == 2
    line = only_error_line(done.stderr)
    assert f"{db} is not writable by this user" in line
    done = cli_process(unprivileged, db, "db", "seed")
    assert done.returncode == 2
    assert "is not writable by this user" in only_error_line(done.stderr)


def test_a_read_only_database_folder(unprivileged: list[str], shared_dir: Path) -> None:
    folder = shared_dir / "ro"
    folder.mkdir()
    db = seeded_database(folder / "bot.db")
    db.chmod(0o666)
    folder.chmod(0o555)
    done = cli_process(unprivileged, db, "db", "stats")
    assert done.returncode == 2
    line = only_error_line(done.stderr)
    assert f"the folder {folder} is not writable by this user" in line
    assert "-wal and -shm" in line
    done = cli_process(unprivileged, folder / "new.db", "db", "init")
    assert done.returncode == 2
    line = only_error_line(done.stderr)
    assert f"cannot create {folder / 'new.db'}" in line and "not writable" in line


def test_a_backup_into_a_folder_this_user_cannot_write(unprivileged: list[str],
                                                       shared_dir: Path) -> None:
    db = seeded_database(shared_dir / "bot.db")
    db.chmod(0o666)
    folder = shared_dir / "backups"
    folder.mkdir()
    folder.chmod(0o555)
    done = cli_process(unprivileged, db, "db", "backup", str(folder / "copy.db"))
    assert done.returncode == 2
    line = only_error_line(done.stderr)
    assert f"cannot write the backup: the folder {folder} is not writable" in line
    assert list(folder.iterdir()) == []


@pytest.fixture(scope="module")
def private_mounts() -> None:
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a read-only mount needs root and unshare")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no private mount namespace here")


def test_a_database_on_a_read_only_file_system(private_mounts: None, tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    db = mount / "bot.db"
    bot_cli = f"{sys.executable} -m bot --env-file {os.devnull}"
    # A tmpfs in a mount namespace of its own: invisible to the rest of the machine, gone
    # with the shell.
    script = f"""
        set -e
        mount -t tmpfs tmpfs {mount}
        DATABASE_PATH={db} {bot_cli} db seed > /dev/null
        mount -o remount,ro {mount}
        set +e
        for command in "db stats" "db init" "db seed" "db check"; do
            DATABASE_PATH={db} {bot_cli} $command > /dev/null 2> {tmp_path}/err.txt
            echo "$command rc=$? $(grep '^heartstopper-bot:' {tmp_path}/err.txt)"
            grep -c Traceback {tmp_path}/err.txt
        done
        DATABASE_PATH={mount}/new.db {bot_cli} db init > /dev/null 2> {tmp_path}/err.txt
        echo "init new rc=$? $(grep '^heartstopper-bot:' {tmp_path}/err.txt)"
        DATABASE_PATH={db} {bot_cli} db backup {mount}/copy.db > /dev/null 2> {tmp_path}/err.txt
        echo "backup rc=$? $(grep '^heartstopper-bot:' {tmp_path}/err.txt)"
    """
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    results = dict(line.split(" rc=", 1) for line in lines if " rc=" in line)
    assert all(line == "0" for line in lines if " rc=" not in line), done.stdout  # no traceback
    for command in ("db stats", "db init", "db seed"):
        assert results[command].startswith("2 heartstopper-bot: "), results
        assert f"{db} is on a read-only file system" in results[command]
    assert results["db check"].startswith("0"), results  # reading needs no writes
    assert results["init new"].startswith("2 ")
    assert f"the folder {mount} is on a read-only file system" in results["init new"]
    assert results["backup"].startswith("2 ")
    assert f"the folder {mount} is on a read-only file system" in results["backup"]


# ---- the store itself ----------------------------------------------------------------------------

async def test_open_without_create_leaves_no_file(tmp_path: Path) -> None:
    from bot.store import StoreError

    with pytest.raises(StoreError, match="does not exist"):
        await Database.open(tmp_path / "missing.db", create=False)
    assert not os.listdir(tmp_path)

