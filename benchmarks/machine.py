"""The machine a run came from: figures mean little without it."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def event_loop() -> str:
    """The loop the bots under test run on: what EVENT_LOOP (passed on to every child, auto
    unless set) picks here."""
    from bot.core.config import parse_settings
    from bot.core.runtime import loop_factory

    # Read as the bot reads it (a bad value fails the run, as it would fail each child).
    choice = parse_settings({"EVENT_LOOP": os.environ.get("EVENT_LOOP")}).event_loop
    if loop_factory(choice) is None:
        return "asyncio"
    from importlib.metadata import version

    return f"uvloop {version('uvloop')}"


def describe() -> dict[str, Any]:
    import aiosqlite
    import discord

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_mib": memory_total_mib(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "discord_py": discord.__version__,
        "sqlite": aiosqlite.sqlite_version,
        "event_loop": event_loop(),
        "platform": platform.platform(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def one_line(info: dict[str, Any]) -> str:
    return (f"{info['cpus']} CPUs ({info['cpu_model']}), Python {info['python']}, "
            f"discord.py {info['discord_py']}, SQLite {info['sqlite']}, "
            f"event loop {info.get('event_loop', 'asyncio')}")
