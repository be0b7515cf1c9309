"""`run` and `sync` without a way to Discord: one line naming the host and what to check, exit
code 2, no traceback, never the token. Real processes, real sockets: a name that cannot resolve
(.invalid is reserved for that) and a local port where nothing listens."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import default_config
from emulator.testing import running_emulator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Shaped like a real token, so that a leak would show.
FAKE_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz012345"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def child_env(db: Path, api_base: str, token: str = FAKE_TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
    env.update(DATABASE_PATH=str(db), DISCORD_TOKEN=token, DISCORD_API_BASE=api_base,
               LOG_LEVEL="INFO")
    return env


def bot_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--env-file", os.devnull, *args]


def the_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert FAKE_TOKEN not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("heartstopper-bot:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("command", ["run", "sync"])
def test_a_name_that_does_not_resolve(tmp_path: Path, command: str) -> None:
    done = subprocess.run(bot_argv(command), cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=child_env(tmp_path / "bot.db", "http://nonexistent.invalid/api/v10"),
                          timeout=90, check=False)
    assert done.returncode == 2
    line = the_error(done.stderr)
    assert line.startswith("heartstopper-bot: could not reach Discord at nonexistent.invalid (")
    assert "Check this machine's network connection and DISCORD_API_BASE" in line


@pytest.mark.parametrize("command", ["run", "sync"])
def test_nothing_listening(tmp_path: Path, command: str) -> None:
    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    done = subprocess.run(bot_argv(command), cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=child_env(tmp_path / "bot.db", api), timeout=90, check=False)
    assert done.returncode == 2
    assert the_error(done.stderr) == (
        "heartstopper-bot: could not reach Discord at 127.0.0.1 (connection refused). Check "
        "this machine's network connection and DISCORD_API_BASE, then try again.")
    if command == "sync":
        assert not os.listdir(tmp_path)  # sync never makes DATABASE_PATH


async def test_sync_needs_no_database(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "bot.db"
    async with running_emulator(default_config()) as emu:
        proc = await asyncio.create_subprocess_exec(
            *bot_argv("sync"), cwd=PROJECT_ROOT, env=child_env(db, emu.api_base,
                                                               emu.config.token),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("synced ")
    assert "character" in out.decode()
    assert not os.listdir(tmp_path)


async def test_a_refusal_at_start_up_names_the_setting(tmp_path: Path) -> None:
    # DEV_GUILD_ID of a server the bot is not in: Discord answers 403 to the command sync.
    async with running_emulator(default_config()) as emu:
        env = child_env(tmp_path / "bot.db", emu.api_base, emu.config.token)
        env.update(DISCORD_GATEWAY_URL=emu.gateway_url, DEV_GUILD_ID="123456789012345678")
        proc = await asyncio.create_subprocess_exec(
            *bot_argv("run"), cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 2
    stderr = err.decode()
    assert emu.config.token not in stderr
    assert the_error(stderr) == (
        "heartstopper-bot: Discord refused a request (HTTP 403: Missing Access). Check "
        "DEV_GUILD_ID: the bot must be in that server.")
