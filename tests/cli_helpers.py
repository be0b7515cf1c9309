"""What the CLI tests share: run the CLI on one database path, read its one error line, damage a
database the way a torn write would."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import load_migrations

LATEST = load_migrations()[-1].version


def cli(db: Path, *args: str, **env: str) -> int:
    """The CLI in this process, with only DATABASE_PATH (and `env`) set: in the environment,
    which settings read before any .env (and --env-file /dev/null reads none)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("DISCORD_TOKEN", "DISCORD_API_BASE", "SEED_DIR"):
            patch.delenv(name, raising=False)
        patch.setenv("DATABASE_PATH", str(db))
        for name, value in env.items():
            patch.setenv(name, value)
        return main(["--env-file", os.devnull, *args])


def only_error_line(err: str) -> str:
    """The CLI's message: exactly one `heartstopper-bot:` line and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("heartstopper-bot:")]
    assert len(lines) == 1, err
    return lines[0]


def corrupt_table_page(path: Path, table: str) -> None:
    """Overwrite the b-tree page header of `table`'s root page, as a torn write would."""
    with sqlite3.connect(path) as connection:
        [(root,)] = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchall()
        [(page_size,)] = connection.execute("PRAGMA page_size").fetchall()
    connection.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * 8)
