"""Bots in child processes, so they can be killed (SIGKILL) and weighed (VmRSS) on their own.

The child's log lines (stderr) are read as they come and timestamped on arrival, which gives
start-up phases without changing the bot: `seeded`, `loaded N feature modules`, `ready as`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from emulator import Emulator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_MARK = "ready as "  # HeartstopperBot.on_ready, and the baseline bot's own line


class ChildBot:
    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.argv = list(argv)
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0
        self.lines: list[tuple[float, str]] = []  # (seconds since start, line)
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> ChildBot:
        self.started = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, cwd=PROJECT_ROOT, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while True:
            raw = await self.proc.stderr.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append((time.perf_counter() - self.started, line))
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def seen(self, mark: str) -> float | None:
        """Seconds from start to the first log line containing `mark`."""
        return next((t for t, line in self.lines if mark in line), None)

    async def wait_for(self, mark: str, timeout: float) -> float:  # noqa: ASYNC109
        async def until() -> float:
            async with self._changed:
                while True:
                    found = self.seen(mark)
                    if found is not None:
                        return found
                    if self.proc is not None and self.proc.returncode is not None:
                        raise RuntimeError(f"the bot exited ({self.proc.returncode}) before "
                                           f"{mark!r}: {self.tail()}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no {mark!r} within {timeout:.0f}s: {self.tail()}") from None

    def tail(self, n: int = 8) -> str:
        return " | ".join(line for _, line in self.lines[-n:])

    def rss_mib(self) -> tuple[float, float]:
        """(current, peak) resident memory in MiB, from /proc/<pid>/status."""
        values = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values["VmRSS"], values["VmHWM"]

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as a crash or an OOM kill would be."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.kill()
                await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._reader, 5)


def child_env(emu: Emulator, db_path: Path, **settings: str) -> dict[str, str]:
    """The environment for `python -m bot run` against `emu`: only what the bot needs."""
    env = {k: v for k, v in os.environ.items()
           # EVENT_LOOP: a run on asyncio's loop (EVENT_LOOP=asyncio) runs every child on it.
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "EVENT_LOOP")}
    env.update(
        PYTHONUNBUFFERED="1",
        DISCORD_TOKEN=emu.config.token,
        DISCORD_API_BASE=emu.api_base,
        DISCORD_GATEWAY_URL=emu.gateway_url,
        DATABASE_PATH=str(db_path),
        LOG_LEVEL="INFO",
    )
    env.update(settings)
    return env


def heartstopper_argv() -> list[str]:
    # --env-file /dev/null: never pick up a developer's .env (it is not a regular file).
    return [sys.executable, "-m", "bot", "--env-file", os.devnull, "run"]


def baseline_argv(sharded: bool) -> list[str]:
    argv = [sys.executable, "-m", "benchmarks.baseline_bot"]
    return argv + (["--sharded"] if sharded else [])
