"""News fan-out: one item to every subscribed channel, the emulator enforcing Discord's global
50 requests per second with real 429s.

The bot runs as its own process (`python -m bot run`), as it would against Discord, on a fresh
database with every channel subscribed; the emulator runs in the benchmark's process. A run
posts one item with `/news post` as the owner and waits until every channel has it: first at
the default pace (45/s), then bisecting the whole numbers up to the setting's maximum (49) for
the highest pace that draws no 429.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.deliveries import (
    news_channels,
    post_news,
    prepare_database,
    steady_emulator,
    tally,
    wait_delivered,
)
from benchmarks.figures import Figure, Section
from benchmarks.processes import READY_MARK, ChildBot, child_env, heartstopper_argv
from benchmarks.workspace import many_guilds
from bot.core.config import DEFAULT_NEWS_SENDS_PER_SECOND, MAX_NEWS_SENDS_PER_SECOND
from emulator.testing import running_emulator

SUSTAINED_SHARE = 0.95
READY_TIMEOUT = 60.0


async def fan_out(*, guilds: int, channels_per_guild: int, pace: float,
                  folder: Path) -> dict[str, Any]:
    config = many_guilds(guilds, channels_per_guild)
    channels = news_channels(config)
    db_path = folder / f"fanout-{pace:g}.db"
    await prepare_database(db_path, channels, config.owner.id)
    async with running_emulator(config) as emu:
        env = child_env(emu, db_path, NEWS_SENDS_PER_SECOND=f"{pace:g}",
                        DEV_GUILD_ID=str(config.guilds[0].id))
        bot = await ChildBot(heartstopper_argv(), env).start()
        try:
            await bot.wait_for(READY_MARK, READY_TIMEOUT)
            with steady_emulator():
                before, first_request = emu.stats.rate_limited, len(emu.requests)
                started = time.perf_counter()
                await post_news(emu, f"Fan-out at {pace:g}/s")
                complete = await wait_delivered(emu, len(channels),
                                                limit=len(channels) / pace * 2 + 60)
                seconds = time.perf_counter() - started
        finally:
            await bot.stop()
        result = tally(emu, channels).as_json()
        limited = Counter(f"{r.method} {r.route}" for r in emu.requests[first_request:]
                          if r.status == 429)
        result.update(pace=pace, complete=complete, seconds=seconds,
                      rate_limited=emu.stats.rate_limited - before, limited=dict(limited))
        return result


def _clean(run: dict[str, Any]) -> bool:
    return run["complete"] and run["rate_limited"] == 0 and run["lost"] == 0 \
        and run["duplicates"] == 0


async def run(*, guilds: int, channels_per_guild: int, probe: bool = True,
              work_dir: Path | None = None) -> Section:
    section = Section("fanout", "News fan-out under Discord's global rate limit")
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        default = await fan_out(guilds=guilds, channels_per_guild=channels_per_guild,
                                pace=DEFAULT_NEWS_SENDS_PER_SECOND, folder=Path(folder))
        runs.append(default)
        best = default if _clean(default) else None
        if probe and best is not None:
            # Bisect the whole numbers above the default for the highest pace without a 429.
            low, high = int(DEFAULT_NEWS_SENDS_PER_SECOND), int(MAX_NEWS_SENDS_PER_SECOND)
            while low < high:
                pace = (low + high + 1) // 2
                attempt = await fan_out(guilds=guilds, channels_per_guild=channels_per_guild,
                                        pace=float(pace), folder=Path(folder))
                runs.append(attempt)
                if _clean(attempt):
                    low, best = pace, attempt
                else:
                    high = pace - 1
    section.details["runs"] = runs
    _report(section, default, best, guilds * channels_per_guild, guilds)
    section.seconds = time.perf_counter() - started
    return section


def _report(section: Section, default: dict[str, Any], best: dict[str, Any] | None,
            channels: int, guilds: int) -> None:
    for label, r in (("default pace", default), ("highest pace without 429s", best)):
        if r is None:
            section.add(Figure(f"{label}", "none found", "", "a pace with no 429", False))
            continue
        pace = r["pace"]
        name = f"{label} ({pace:g}/s, {channels:,} channels in {guilds:,} servers)"
        section.add(
            Figure(f"{name}: sustained send rate", r["sustained_rate"], "msg/s",
                   f">= {SUSTAINED_SHARE * pace:.2f} (95% of pace)",
                   r["sustained_rate"] >= SUSTAINED_SHARE * pace),
            Figure(f"{name}: 429s", r["rate_limited"], "", "0", r["rate_limited"] == 0),
            Figure(f"{name}: lost", r["lost"], "", "0", r["lost"] == 0),
            Figure(f"{name}: duplicates", r["duplicates"], "", "0", r["duplicates"] == 0),
            Figure(f"{name}: post to last delivery", r["seconds"], "s"),
        )
        if label != "default pace":
            break
