"""Shards across processes: the burst (benchmarks/burst.py) against one bot process serving every
server, and against two processes each serving one of two shards (SHARD_COUNT=2, SHARD_IDS=0 and
1) on one database, one of which runs the background work (bot/core/leadership.py).

Both set-ups run on emulators of their own in this process, taking turns at each offered rate
(the one-process bot on the grown database, the two processes on a copy of it: a process serving
a database alone holds it alone). Each step reports every bot process's CPU and the emulator's,
so it is clear which side ran out first: on a machine with few cores the emulator, which does
Discord's work for both, competes with the bots for them.

    python -m benchmarks.shards [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import burst
from benchmarks.figures import Figure, Section
from benchmarks.machine import describe, one_line
from benchmarks.processes import heartstopper_argv
from benchmarks.report import text_table

ONE = "one process"
TWO = "two processes"


def specs(two_db: Path) -> list[burst.BotSpec]:
    slices = [{"SHARD_COUNT": "2", "SHARD_IDS": str(shard), "DATABASE_PATH": str(two_db)}
              for shard in (0, 1)]
    return [burst.BotSpec(ONE, heartstopper_argv()),
            burst.BotSpec(TWO, heartstopper_argv(), slices, shard_count=2)]


async def run(*, characters: int, quotes: int, layout: burst.Layout, first_rate: float,
              max_rate: float, seconds: float, refine: bool = True,
              work_dir: Path | None = None, echo: Callable[[str], None] = print) -> Section:
    section = Section("shards", "Burst capacity: one process against two shard slices")
    started_at = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        one_db = Path(folder) / "one.db"
        two_db = Path(folder) / "two.db"
        config, _ = burst.burst_world(layout)
        inputs = await burst.prepare(one_db, characters, quotes, burst.subscribed(config),
                                     config.owner.id)
        _copy(one_db, two_db)
        targets = await burst.capacity_run(
            specs(two_db), layout=layout, db_path=one_db, inputs=inputs,
            rates=burst.rates_from(first_rate, max_rate), seconds=seconds, refine=refine,
            echo=echo)
    report(section, targets)
    section.seconds = time.perf_counter() - started_at
    return section


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: the whole database, whatever is still in its WAL."""
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def report(section: Section, targets: list[burst.Target]) -> None:
    caps = {t.spec.name: burst.capacity(t.steps) for t in targets}
    gain = caps[TWO] / caps[ONE] if caps[ONE] else math.nan
    section.details.update(steps={t.spec.name: t.steps for t in targets}, capacity=caps,
                           gain=gain)
    for target in targets:
        name = target.spec.name
        for s in target.steps:
            cpu = s["cpu"]
            section.add(Figure(
                f"{name} at {s['rate']:g}/s: answered, p50 / p99, late, failed, CPU of each "
                "bot process / emulator",
                f"{s['answered']:,}, {s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms, {s['late']}, "
                f"{s['failures']}, {' + '.join(f'{c:.0f}' for c in cpu['bot_percent'])}% / "
                f"{cpu['emulator_percent']:.0f}%" + ("" if s["holds"] else " - does not hold")))
        section.add(Figure(f"{name}: capacity (p99 < 1 s, no deadline missed, no failure)",
                           caps[name], "interactions/s"))
    section.add(Figure("gain (two processes / one)", gain, "x"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shards", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a smaller store and shorter steps (minutes, not a quarter hour)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        sizes: dict[str, Any] = dict(characters=2_000, quotes=20_000,
                                     layout=burst.Layout(30, 10, 50), seconds=8.0)
    else:
        sizes = dict(characters=10_000, quotes=100_000, layout=burst.Layout(), seconds=20.0)
    machine = describe()
    print(f"machine: {one_line(machine)}", flush=True)
    section = asyncio.run(run(first_rate=25.0, max_rate=3200.0, **sizes,
                              echo=lambda line: print(line, flush=True)))
    print(text_table([section]))
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": machine, "shards": section.as_json()},
                                        indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
