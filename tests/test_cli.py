import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import application_id_from_token, main
from bot.core.database import Database
from bot.core.leadership import BACKGROUND, LeaseRepository


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    env = tmp_path / ".env"
    env.write_text(f"DATABASE_PATH={tmp_path / 'bot.db'}\nDISCORD_TOKEN=\n")
    return env


def run(env_file: Path, *args: str) -> int:
    return main(["--env-file", str(env_file), *args])


def test_db_seed_then_stats_prints_counts(env_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run(env_file, "db", "init") == 0
    assert run(env_file, "db", "seed") == 0
    assert run(env_file, "db", "seed") == 0
    capsys.readouterr()
    assert run(env_file, "db", "stats") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    counts = {line.rsplit(None, 1)[0].strip(): int(line.rsplit(None, 1)[1])
              for line in lines[1:-1]}
    assert counts["characters"] >= 20
    assert counts["quotes with speaker and outlet"] >= 15
    assert counts["news items"] >= 2
    assert lines[-1] == "background work: no process has run it yet"


async def test_db_stats_names_the_process_running_the_background_work(
        env_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(run, env_file, "db", "init") == 0
    database = await Database.open(tmp_path / "bot.db", create=False)
    try:
        now = datetime.now(UTC)
        await LeaseRepository(database).take(BACKGROUND, "h1", "pid 42 on host, shards 0 of 2",
                                             2, now, now + timedelta(minutes=10))
    finally:
        await database.close()
    capsys.readouterr()
    assert await asyncio.to_thread(run, env_file, "db", "stats") == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("background work: pid 42 on host, shards 0 of 2 (since ")


def test_backup_writes_a_usable_copy(env_file: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(env_file, "db", "seed") == 0
    (tmp_path / "backups").mkdir()
    target = tmp_path / "backups" / "copy.db"
    assert run(env_file, "db", "backup", str(target)) == 0
    assert target.stat().st_size > 0
    assert run(env_file, "db", "check", str(target)) == 0
    assert run(env_file, "db", "backup", str(tmp_path / "bot.db")) == 2
    assert "must differ from DATABASE_PATH" in capsys.readouterr().err
    # Only the copy is left in the folder: no partial file, no -wal or -shm.
    assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == ["copy.db"]


def test_run_without_token_is_a_clear_exit_2(env_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run(env_file, "run") == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN is not set" in err and "Traceback" not in err


def test_invite_url_has_minimal_permissions(env_file: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(env_file, "invite", "--client-id", "1234567890") == 0
    url = capsys.readouterr().out.strip()
    assert "client_id=1234567890" in url
    # view channel + send messages + embed links + read message history
    assert f"permissions={(1 << 10) | (1 << 11) | (1 << 14) | (1 << 16)}" in url
    assert "scope=bot+applications.commands" in url


def test_application_id_is_read_from_the_token() -> None:
    first = base64.b64encode(b"987654321098765432").decode().rstrip("=")
    assert application_id_from_token(f"{first}.abc.def") == 987654321098765432


def test_broken_seed_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    env = tmp_path / ".env"
    env.write_text(f"DATABASE_PATH={tmp_path / 'x.db'}\nSEED_DIR={seed_dir}\n")
    assert main(["--env-file", str(env), "db", "seed"]) == 2
    assert "sources.json: file is missing" in capsys.readouterr().err
