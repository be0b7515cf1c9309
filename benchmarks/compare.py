"""Revisions of the bot under the same burst, taking turns at each rate: the before-and-after
figure for a change meant to make the bot faster (issue 19, item 3).

    python -m benchmarks.compare BEFORE AFTER [MORE...] [--rates 300,450,600] [--seconds 15]
                                 [--refine] [--quick] [--json PATH]

Each revision is anything `git rev-parse` reads (`HEAD~1`, a branch, a commit), or `.` for the
working tree as it is. Each is unpacked into a folder of its own (`git archive`: bot/, cogs/
and data/), and its bot runs from there as its own process (`python -m bot run` with that folder
first on the path), on this environment's packages: both revisions must need the same
dependencies. Each gets its own copy of one store grown by the working tree's code (as the burst
benchmark grows it), so both must read the same schema: a revision older than the store's schema
refuses to start, and says so.

At each rate, each revision gets a step on an emulator of its own, one after the other, so all
meet the machine within a minute of each other: its drift between runs (capacities a third apart
here, with the same code) lands on each, which is why a change is judged by this comparison and
not by two burst runs. The same step as
the burst benchmark's (an open-loop mix, p99 from dispatch to callback, CPU of each process).
Per revision and rate it prints what was answered, p50/p99, deadlines missed, CPU (percent of a
core) and CPU per interaction; then each revision's capacity (the highest rate that held, as in
the burst benchmark; `--refine` bisects after the first failure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.burst import (
    BotSpec,
    Layout,
    Target,
    burst_world,
    capacity,
    prepare,
    ramp,
    started,
    subscribed,
    warm_up,
)
from benchmarks.processes import PROJECT_ROOT

# What a revision's bot needs to run; the rest of the repository (tests, benchmarks) is not its.
TREE_PARTS = ("bot", "cogs", "data")
# Runs the bot of the folder given as the first argument, ahead of the installed project.
RUN_TREE = ("import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
            "runpy.run_module('bot', run_name='__main__', alter_sys=True)")


class CompareError(RuntimeError):
    """A revision that cannot be unpacked; the message says which and why."""


@dataclass(frozen=True)
class Sizes:
    characters: int = 10_000
    quotes: int = 100_000
    layout: Layout = field(default_factory=Layout)


QUICK = Sizes(characters=300, quotes=2_000, layout=Layout(guilds=10, channels_per_guild=2,
                                                          fans_per_guild=10))


def unpack(revision: str, dest: Path) -> Path:
    """The revision's bot/, cogs/ and data/ in `dest`; `.` copies the working tree's."""
    dest.mkdir(parents=True)
    if revision == ".":
        for part in TREE_PARTS:
            shutil.copytree(PROJECT_ROOT / part, dest / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.db*"))
        return dest
    try:
        done = subprocess.run(["git", "archive", "--format=tar", revision, *TREE_PARTS],
                              cwd=PROJECT_ROOT, capture_output=True, check=False)
    except OSError as exc:
        raise CompareError(f"cannot run git to unpack {revision!r}: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise CompareError(f"cannot unpack {revision!r}: {reason[-1] if reason else 'git failed'}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            archive.extractall(dest, filter="data")
        else:  # git's own archive of this repository, nothing from outside
            archive.extractall(dest)
    return dest


def tree_argv(tree: Path) -> list[str]:
    # --env-file /dev/null: never pick up a developer's .env, as the burst benchmark does.
    return [sys.executable, "-c", RUN_TREE, str(tree), "--env-file", os.devnull, "run"]


def per_interaction_ms(step: dict[str, Any], seconds: float) -> float | None:
    """CPU milliseconds the bot's process spent per interaction answered in the step (None if
    none was): its CPU while the arrivals were sent, as the burst benchmark measures it, over
    those answered. Near capacity, answers given after the last arrival are counted without
    their CPU, for every revision alike."""
    answered_per_second = step["answered"] / seconds
    cpu = sum(step["cpu"]["bot_percent"])
    return round(cpu * 10 / answered_per_second, 3) if answered_per_second else None


def summary(targets: list[Target], seconds: float) -> dict[str, Any]:
    return {
        t.spec.name: {
            "capacity": capacity(t.steps),
            "steps": [{"rate": s["rate"], "answered": s["answered"], "p50_ms": s["p50_ms"],
                       "p99_ms": s["p99_ms"], "late": s["late"], "failures": s["failures"],
                       "holds": s["holds"], "cpu_percent": sum(s["cpu"]["bot_percent"]),
                       "emulator_percent": s["cpu"]["emulator_percent"],
                       "cpu_ms_per_interaction": per_interaction_ms(s, seconds)}
                      for s in t.steps],
        }
        for t in targets
    }


def table(result: dict[str, Any]) -> str:
    lines = [f"{'revision':>12} {'rate/s':>7} {'answered':>8} {'p50 ms':>8} {'p99 ms':>8} "
             f"{'late':>5} {'CPU %':>6} {'CPU ms/int':>10}"]
    for name, revision in result.items():
        for s in sorted(revision["steps"], key=lambda s: s["rate"]):
            per = s["cpu_ms_per_interaction"]
            lines.append(f"{name:>12} {s['rate']:>7g} {s['answered']:>8} {s['p50_ms']:>8.1f} "
                         f"{s['p99_ms']:>8.1f} {s['late']:>5} {s['cpu_percent']:>6.1f} "
                         f"{'-' if per is None else f'{per:.3f}':>10}"
                         + ("" if s["holds"] else "  does not hold"))
    for name, revision in result.items():
        lines.append(f"{name}: capacity {revision['capacity']:g}/s")
    return "\n".join(lines)


async def compare(revisions: list[str], *, rates: list[float], seconds: float, refine: bool,
                  sizes: Sizes, work_dir: Path, echo: Any = print) -> dict[str, Any]:
    names = [f"{i + 1}:{rev}" for i, rev in enumerate(revisions)]
    trees = [unpack(rev, work_dir / f"tree-{i}") for i, rev in enumerate(revisions)]
    grown = work_dir / "grown.db"
    config, _ = burst_world(sizes.layout)
    inputs = await prepare(grown, sizes.characters, sizes.quotes, subscribed(config),
                           config.owner.id)
    async with contextlib.AsyncExitStack() as stack:
        targets = []
        for i, (name, tree) in enumerate(zip(names, trees, strict=True)):
            db = work_dir / f"store-{i}.db"
            shutil.copy(grown, db)
            spec = BotSpec(name, tree_argv(tree), processes=[{"SEED_DIR": str(tree / "data")}])
            try:
                targets.append(await stack.enter_async_context(
                    started(spec, sizes.layout, db, inputs, None)))
            except (RuntimeError, TimeoutError) as exc:
                # A revision older than the store's schema, or one needing other packages.
                raise CompareError(f"{name}'s bot did not start: {exc}") from None
        for target in targets:
            await warm_up(target)
        await asyncio.sleep(2.0)  # start-up work (the index upkeep's first round) settles
        await ramp(targets, rates, seconds, refine=refine, echo=echo)
    return summary(targets, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=(
        "Revisions of the bot under the same burst, taking turns at each rate."))
    parser.add_argument("revisions", nargs="+", metavar="REVISION",
                        help="two or more: git revisions, or . for the working tree")
    parser.add_argument("--rates", default="300,450,600,750,900",
                        help="offered rates, interactions per second (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per step")
    parser.add_argument("--refine", action="store_true",
                        help="after the first failure, bisect toward each one's capacity")
    parser.add_argument("--quick", action="store_true", help="a small store, to try it out")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    if len(args.revisions) < 2:
        print("compare: give two revisions or more (. is the working tree)", file=sys.stderr)
        return 2
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        rates = []
    if not rates or min(rates) <= 0:
        print(f"compare: --rates must be rates above 0 separated by commas, got {args.rates!r}",
              file=sys.stderr)
        return 2
    if args.seconds <= 0:
        print(f"compare: --seconds must be above 0, got {args.seconds:g}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="compare-") as folder:
        try:
            result = asyncio.run(compare(args.revisions, rates=rates, seconds=args.seconds,
                                         refine=args.refine,
                                         sizes=QUICK if args.quick else Sizes(),
                                         work_dir=Path(folder)))
        except CompareError as exc:
            print(f"compare: {exc}", file=sys.stderr)
            return 2
    print(table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
