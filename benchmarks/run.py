"""`python -m benchmarks [--quick] [--only NAME,...]`: run the benchmarks, print a table, and
write benchmarks/results/latest.json (and latest.md, the table for the README).

Missed targets are reported, never fatal: the exit code is 1 only if a benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import burst, crash, fanout, follow, latency, reads, scale
from benchmarks.figures import Section
from benchmarks.machine import describe, one_line
from benchmarks.report import markdown, text_table

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sizes:
    characters: int = 10_000
    quotes: int = 100_000
    calls: int = 2_000
    warmup: int = 100
    case_budget: float = 90.0  # seconds at most per latency case
    fanout_guilds: int = 200
    fanout_channels_per_guild: int = 10
    probe_paces: bool = True
    crash_guilds: int = 200
    crash_channels_per_guild: int = 10
    memory_guilds: list[int] = field(default_factory=lambda: [1_000, 10_000])
    memory_channels_per_guild: int = 5
    startup_runs: int = 3
    burst_guilds: int = 200
    burst_channels_per_guild: int = 10  # subscribed to news, besides the one fans talk in
    burst_fans_per_guild: int = 50
    burst_first_rate: float = 25.0
    burst_max_rate: float = 6400.0
    burst_step_seconds: float = 20.0
    burst_refine: bool = True
    # Follow mode (issue 20): channels following the hub, per run; the first size is also
    # fanned out per channel, for comparison.
    follow_channels: list[int] = field(default_factory=lambda: [2_000, 100_000])
    reads: int = 5_000  # per kind of read, one after another


FULL = Sizes()
QUICK = Sizes(characters=2_000, quotes=20_000, calls=300, warmup=30, case_budget=30.0,
              fanout_guilds=30, crash_guilds=30, memory_guilds=[200, 1_000], startup_runs=1,
              burst_guilds=30, burst_step_seconds=6.0, follow_channels=[2_000],
              reads=1_000)
# For the suite's own test: every benchmark end to end, as small as it can be.
TINY = Sizes(characters=60, quotes=300, calls=20, warmup=5, case_budget=20.0, fanout_guilds=2,
             fanout_channels_per_guild=5, probe_paces=False, crash_guilds=2,
             crash_channels_per_guild=6, memory_guilds=[20], memory_channels_per_guild=2,
             startup_runs=1, burst_guilds=2, burst_channels_per_guild=3, burst_fans_per_guild=10,
             burst_first_rate=5.0, burst_max_rate=10.0, burst_step_seconds=1.5,
             burst_refine=False, follow_channels=[20], reads=20)

Benchmark = Callable[[Sizes], Awaitable[Section]]

BENCHMARKS: dict[str, Benchmark] = {
    "latency": lambda s: latency.run(characters=s.characters, quotes=s.quotes, calls=s.calls,
                                     warmup=s.warmup, budget=s.case_budget),
    "fanout": lambda s: fanout.run(guilds=s.fanout_guilds,
                                   channels_per_guild=s.fanout_channels_per_guild,
                                   probe=s.probe_paces),
    "crash": lambda s: crash.run(guilds=s.crash_guilds,
                                 channels_per_guild=s.crash_channels_per_guild),
    "scale": lambda s: scale.run_memory(guild_counts=s.memory_guilds,
                                        channels=s.memory_channels_per_guild),
    "startup": lambda s: scale.run_startup(runs=s.startup_runs),
    "burst": lambda s: burst.run(
        characters=s.characters, quotes=s.quotes,
        layout=burst.Layout(s.burst_guilds, s.burst_channels_per_guild, s.burst_fans_per_guild),
        first_rate=s.burst_first_rate, max_rate=s.burst_max_rate,
        seconds=s.burst_step_seconds, refine=s.burst_refine),
    "follow": lambda s: follow.run(channels=s.follow_channels),
    "reads": lambda s: reads.run(characters=s.characters, quotes=s.quotes, reads=s.reads),
}


async def run_all(sizes: Sizes, names: list[str], *, echo: bool = True) -> list[Section]:
    sections = []
    for name in names:
        if echo:
            print(f"== {name} ...", flush=True)
        started = time.perf_counter()
        try:
            section = await BENCHMARKS[name](sizes)
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            section = Section(name, name, error=f"{type(exc).__name__}: {exc}")
            section.details["traceback"] = traceback.format_exc()
            section.seconds = time.perf_counter() - started
        sections.append(section)
        if echo:
            print(text_table([section]) + f"\n   ({section.seconds:.0f} s)\n", flush=True)
    return sections


def results_json(sections: list[Section], sizes: Sizes, mode: str,
                 machine: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": mode,
        "machine": machine,
        "sizes": asdict(sizes),
        "sections": [s.as_json() for s in sections],
        "missed_targets": [f"{s.name}: {f.name}" for s in sections for f in s.misses],
        "errors": {s.name: s.error for s in sections if s.error},
    }


def _quiet_logs() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Voice is not used; discord.py says so at every client start.
    logging.getLogger("discord.client").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Measure the bot through the emulator.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes: a few minutes instead of about a quarter hour")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json",
                        help="where to write the JSON (a .md with the table goes beside it)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(BENCHMARKS)}")
    sizes, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    _quiet_logs()
    machine = describe()
    print(f"Benchmarks ({mode}) on {one_line(machine)}\n", flush=True)
    started = time.perf_counter()
    sections = asyncio.run(run_all(sizes, names))
    print(f"== all ({time.perf_counter() - started:.0f} s)\n{text_table(sections)}")
    data = results_json(sections, sizes, mode, machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2, default=str) + "\n")
    args.out.with_suffix(".md").write_text(markdown(sections, machine, mode))
    print(f"\nwrote {args.out} and {args.out.with_suffix('.md')}")
    if data["missed_targets"]:
        print(f"{len(data['missed_targets'])} figure(s) missed their target (see 'met').")
    return 1 if data["errors"] else 0
