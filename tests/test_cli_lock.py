"""One serving process per database: a second `run` (or playground) on it is refused at once,
`db` commands still work beside it, and the lock goes with the process however it ends."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from benchmarks.processes import PROJECT_ROOT, READY_MARK, ChildBot, child_env, heartstopper_argv
from bot.cli import main
from bot.core.service_lock import AlreadyServing, lock_path, serving
from emulator import default_config
from emulator.testing import running_emulator

READY_TIMEOUT = 60.0


def test_a_second_acquisition_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    with serving(db) as path:
        assert path == lock_path(db) == tmp_path / "bot.db.lock"
        held = rf"another bot process \(pid {os.getpid()}\) is already serving"
        with pytest.raises(AlreadyServing, match=held), serving(db):
            pass
        # Another spelling of the same database is the same lock.
        with pytest.raises(AlreadyServing), serving(tmp_path / "." / "bot.db"):
            pass
    with serving(db):  # released with the block
        pass


def test_the_playground_takes_the_same_lock(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "bot.db"
    script = tmp_path / "lines.txt"
    script.write_text("/about\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_PATH", str(db))
        patch.setenv("DISCORD_TOKEN", "")
        with serving(db):
            assert main(["--env-file", os.devnull, "playground", "--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"is already serving {db}. Stop it first" in err
    assert not db.exists()


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--env-file", os.devnull, *args, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


async def test_a_second_run_is_refused_while_one_serves(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with running_emulator(default_config()) as emu:
        env = child_env(emu, db)
        first = await ChildBot(heartstopper_argv(), env).start()
        try:
            await first.wait_for(READY_MARK, READY_TIMEOUT)
            code, err = await run_cli(env, "run")
            assert code == 2
            assert "Traceback" not in err
            [line] = [x for x in err.splitlines() if x.startswith("heartstopper-bot:")]
            assert line.startswith(f"heartstopper-bot: another bot process (pid {first.pid}) is "
                                   f"already serving {db}. Stop it first")
            assert emu.config.token not in err
            # The database commands run beside it.
            for command in (["db", "stats"], ["db", "seed"], ["db", "check"],
                            ["db", "backup", str(tmp_path / "copy.db")]):
                code, err = await run_cli(env, *command)
                assert code == 0, (command, err)
            # Killed without any cleanup, it leaves the lock file but not the lock.
            first.kill()
            await first.stop()
            assert lock_path(db).exists()
            second = await ChildBot(heartstopper_argv(), env).start()
            try:
                await second.wait_for(READY_MARK, READY_TIMEOUT)
            finally:
                await second.stop()
        finally:
            await first.stop()
