"""Scale: the bot's memory after READY with many servers, next to a default-configured
discord.py bot on the same emulator; and start-up time to ready on a fresh database.

Every bot runs in its own child process on a fresh database (migrations and seed included),
so resident memory (VmRSS) is its alone. Above 2,500 servers both bots shard, as Discord
requires: the emulator recommends one shard per 2,500 servers (GET /gateway/bot), our bot runs
with SHARD_COUNT=auto and the baseline as an AutoShardedClient. discord.py waits 5 s before
each shard after the first identifies (Discord's identify rate limit), which start-up times
with several shards include.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.figures import Figure, Section
from benchmarks.processes import (
    READY_MARK,
    ChildBot,
    baseline_argv,
    child_env,
    heartstopper_argv,
)
from benchmarks.workspace import many_guilds, shards_for
from emulator.testing import running_emulator

SETTLE_SECONDS = 1.0  # after ready, let the last events and allocations land before weighing


async def _weigh(argv: list[str], guilds: int, channels: int, db_path: Path,
                 limit: float, **settings: str) -> dict[str, float]:
    config = many_guilds(guilds, channels, spec_path=None)
    async with running_emulator(config) as emu:
        bot = await ChildBot(argv, child_env(emu, db_path, **settings)).start()
        try:
            ready = await bot.wait_for(READY_MARK, limit)
            await asyncio.sleep(SETTLE_SECONDS)
            rss, peak = bot.rss_mib()
            return {"ready_seconds": ready, "rss_mib": rss, "peak_rss_mib": peak,
                    "shards": config.shard_count,
                    "identifies": emu.stats.identifies}
        finally:
            await bot.stop()


async def run_memory(*, guild_counts: list[int], channels: int, work_dir: Path | None = None
                     ) -> Section:
    section = Section("scale", "Memory after READY, our bot and a default discord.py bot")
    started = time.perf_counter()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        for guilds in guild_counts:
            sharded = shards_for(guilds) > 1
            # Shard identifies are 5 s apart; a few seconds of GUILD_CREATEs on top.
            limit = 60 + 6 * shards_for(guilds) + guilds / 200
            extra = {"SHARD_COUNT": "auto"} if sharded else {}
            ours = await _weigh(heartstopper_argv(), guilds, channels,
                                Path(folder) / f"bot-{guilds}.db", limit, **extra)
            base = await _weigh(baseline_argv(sharded), guilds, channels,
                                Path(folder) / f"unused-{guilds}.db", limit)
            results[str(guilds)] = {"ours": ours, "baseline": base}
            label = f"{guilds:,} servers x {channels} channels, {ours['shards']} shard(s)"
            section.add(
                Figure(f"{label}: our bot RSS", ours["rss_mib"], "MiB"),
                Figure(f"{label}: default discord.py bot RSS", base["rss_mib"], "MiB"),
                Figure(f"{label}: ours / default", ours["rss_mib"] / base["rss_mib"], "x"),
                Figure(f"{label}: our bot ready after", ours["ready_seconds"], "s"),
            )
    section.details["runs"] = results
    section.seconds = time.perf_counter() - started
    return section


async def run_startup(*, runs: int, work_dir: Path | None = None) -> Section:
    """From process start to READY on a fresh database, one server: Python start-up and
    imports, migrations, seeding, loading the cogs, login, gateway and discord.py's own wait
    for servers (guild_ready_timeout, 2 s by default)."""
    section = Section("startup", "Start-up time to ready on a fresh database")
    started = time.perf_counter()
    phases: list[dict[str, float | None]] = []
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        for i in range(runs):
            config = many_guilds(1, 5, spec_path=None)
            async with running_emulator(config) as emu:
                db_path = Path(folder) / f"fresh-{i}.db"
                bot = await ChildBot(heartstopper_argv(), child_env(emu, db_path)).start()
                try:
                    ready = await bot.wait_for(READY_MARK, 60)
                    phases.append({
                        "seeded": bot.seen("seeded a new database"),
                        "cogs_loaded": bot.seen("feature modules"),
                        "ready": ready,
                    })
                finally:
                    await bot.stop()
    section.details["runs"] = phases

    def median(key: str) -> float | None:
        values = sorted(p[key] for p in phases if p[key] is not None)
        return values[len(values) // 2] if values else None

    section.add(
        Figure("process start to database migrated and seeded", median("seeded"), "s"),
        Figure("process start to feature modules loaded", median("cogs_loaded"), "s"),
        Figure("process start to ready (median)", median("ready"), "s"),
        Figure("runs", len(phases)),
    )
    section.seconds = time.perf_counter() - started
    return section
