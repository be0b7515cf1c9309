"""Seed files as fans edit them: every mistake reported in one run, unreadable files and a
mistaken SEED_DIR in one line, and nothing written (not even an empty database) meanwhile."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.canon.seeding import SeedError, load_seed
from bot.cli import main
from bot.core.config import DEFAULT_SEED_DIR

FAKE_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz012345"


def cli(db: Path, seed_dir: Path, *args: str, **env: str) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_PATH", str(db))
        patch.setenv("SEED_DIR", str(seed_dir))
        patch.setenv("DISCORD_TOKEN", "")
        for name, value in env.items():
            patch.setenv(name, value)
        return main(["--env-file", os.devnull, *args])


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.strip()]


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DEFAULT_SEED_DIR, folder, ignore=shutil.ignore_patterns("*.db*"))
    return folder


def edit(seed_dir: Path, filename: str, change: Callable[[Any], None]) -> None:
    path = seed_dir / filename
    document = json.loads(path.read_text("utf-8"))
    change(document)
    path.write_text(json.dumps(document), "utf-8")


def test_every_mistake_is_reported_at_once(tmp_path: Path, seed_dir: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    def characters(d: Any) -> None:
        d["characters"][2]["actor"] = "wiliam-gao"
        d["characters"][0]["seasons"] = []
        d["characters"][0]["role"] = "hero"  # a second mistake in the same entry

    edit(seed_dir, "characters.json", characters)
    edit(seed_dir, "quotes.json", lambda d: d["quotes"][1].update(date="May 2022"))
    edit(seed_dir, "awards.json", lambda d: d["awards"][0].update(year="soon"))
    db = tmp_path / "bot.db"
    assert cli(db, seed_dir, "db", "seed") == 2
    lines = error_lines(capsys.readouterr().err)
    assert lines[0] == ("heartstopper-bot: 5 mistakes in the seed files; nothing was written. "
                        "Fix them all, then run the command again:")
    problems = [line.strip() for line in lines[1:]]
    assert len(problems) == 5
    assert any(p.startswith("data/characters.json: characters[2] 'tao-xu': 'actor' names "
                            "unknown person 'wiliam-gao'") for p in problems)
    assert any("characters[0]" in p and "'seasons' must be a non-empty list" in p
               for p in problems)
    assert any("characters[0]" in p and "'role' must be one of" in p for p in problems)
    assert any(p.startswith("data/quotes.json: quotes[1]") and "'date' must be a month" in p
               for p in problems)
    assert any(p.startswith("data/awards.json: awards[0]") and "'year' must be a whole" in p
               for p in problems)
    assert not db.exists()


def test_a_bad_key_is_reported_once_not_at_every_reference(seed_dir: Path) -> None:
    # The person entry is wrong in another way; characters naming it must not all fail too.
    edit(seed_dir, "people.json", lambda d: d["people"][0].update(roles=["villain"]))
    with pytest.raises(SeedError) as raised:
        load_seed(seed_dir)
    assert len(raised.value.problems) == 1
    assert "'roles' may hold only creator, cast" in raised.value.problems[0]


def test_a_missing_file_does_not_flood_references_to_it(seed_dir: Path) -> None:
    (seed_dir / "sources.json").unlink()
    with pytest.raises(SeedError) as raised:
        load_seed(seed_dir)
    assert raised.value.problems == ("data/sources.json: file is missing",)


def test_a_seed_file_that_is_not_utf8(tmp_path: Path, seed_dir: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = seed_dir / "quotes.json"
    path.write_bytes(path.read_text("utf-8").replace("Heartstopper", "Heartst\u00f6pper", 1)
                     .encode("latin-1", "replace"))
    line_number = path.read_bytes()[:path.read_bytes().index(b"\xf6")].count(b"\n") + 1
    db = tmp_path / "bot.db"
    assert cli(db, seed_dir, "db", "seed") == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line == (f"heartstopper-bot: data/quotes.json: line {line_number} is not UTF-8 text. "
                    "Save the file as UTF-8 (your editor's 'save with encoding').")
    assert not db.exists()


def test_a_byte_order_mark_is_fine(seed_dir: Path) -> None:
    path = seed_dir / "awards.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_seed(seed_dir).awards


def test_seed_dir_pointing_at_a_file(tmp_path: Path, seed_dir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "bot.db"
    assert cli(db, seed_dir / "quotes.json", "db", "seed") == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(f"heartstopper-bot: the seed folder {seed_dir / 'quotes.json'} is a "
                           "file, not a folder. Point SEED_DIR at the folder")
    assert not db.exists()


def test_seed_dir_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path / "bot.db", tmp_path / "dat", "db", "seed") == 2
    [line] = error_lines(capsys.readouterr().err)
    assert f"the seed folder {tmp_path / 'dat'} does not exist" in line


def test_a_seed_file_that_is_a_folder(seed_dir: Path) -> None:
    (seed_dir / "news.json").unlink()
    (seed_dir / "news.json").mkdir()
    with pytest.raises(SeedError, match=r"data/news.json: is a folder, not a file"):
        load_seed(seed_dir)


def test_run_with_broken_seed_files_creates_no_database(
        tmp_path: Path, seed_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(seed_dir, "news.json", lambda d: d["news"][0].update(sources=[]))
    db = tmp_path / "bot.db"
    assert cli(db, seed_dir, "run", DISCORD_TOKEN=FAKE_TOKEN,
               DISCORD_API_BASE="http://127.0.0.1:9/api/v10") == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith("heartstopper-bot: data/news.json: news[0] ")
    assert line.endswith("'sources' must name at least one entry. Fix it, then run the command "
                         "again; nothing was written.")
    assert FAKE_TOKEN not in line
    assert os.listdir(tmp_path) == ["data"]  # no database, no lock file
