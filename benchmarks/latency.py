"""Interaction latency: from the emulator dispatching INTERACTION_CREATE to the bot's
interaction callback arriving at the emulator, one interaction at a time, on a store grown to
benchmark size, with the bot in its own process (`python -m bot run`).

Both ends are timestamps the emulator takes on one clock: `InteractionRecord.dispatched_at`
(as the gateway frame is handed to the socket) and the callback request's `RecordedRequest.time`
(when its handler chain started). Everything in between is the bot: discord.py parsing the
event, the command (store queries, rendering) and the HTTP request back. (A stamp taken after
the write would miss the bot's work whenever the woken bot takes the emulator's CPU first.)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bulk import add_synthetic
from benchmarks.figures import Figure, Section, percentile, ratio_interval
from benchmarks.processes import READY_MARK, ChildBot, child_env, heartstopper_argv
from benchmarks.synthetic import SyntheticCanon, synthesize
from benchmarks.workspace import add_members, bot_settings, members
from bot.canon.seeding import load_seed
from bot.store import Store
from emulator import Emulator, UserSpec, default_config
from emulator.results import InteractionRecord
from emulator.testing import running_emulator

AUTOCOMPLETE_P99_MS = 15.0
SLOWEST_KEPT = 8  # the slowest calls of each case, with their inputs, kept in the JSON
# bot/core/errors.py's answer to an unexpected exception: a reply, but a failed call.
BOT_ERROR_MARK = "logged with reference"
BASELINE_RATIO = 1.5
READY_TIMEOUT = 60.0
SETTLE = 0.005  # seconds between calls

# One call: given the emulator and who invokes, run one interaction and return its record.
Call = Callable[[Emulator, UserSpec], Awaitable[InteractionRecord]]


@dataclass
class Case:
    key: str
    label: str
    calls: list[Call]  # cycled through
    autocomplete: bool = False


def callback_latency(emu: Emulator, record: InteractionRecord) -> float | None:
    """Seconds from dispatch to the first callback request for this interaction."""
    prefix = f"/interactions/{record.id}/"
    for request in reversed(emu.requests):
        if request.path.startswith(prefix):
            return request.time - record.dispatched_at
    return None


def _command(name: str, options: dict[str, Any] | None = None, kind: str = "") -> Call:
    async def call(emu: Emulator, user: UserSpec) -> InteractionRecord:
        result = await emu.invoke(name, options, user=user, settle=0.0)
        if result.errors or not (result.answered or result.deferred):
            raise RuntimeError(f"/{name} {options}: {result!r}")
        if result.message is not None and BOT_ERROR_MARK in result.message.content:
            raise RuntimeError(f"/{name} {options}: the bot hit an error: "
                               f"{result.message.content}")
        return result.record

    call.label = f"/{name} {options or ''}".strip()  # type: ignore[attr-defined]
    call.kind = kind  # type: ignore[attr-defined]
    return call


def _autocomplete(name: str, option: str, typed: str, kind: str = "") -> Call:
    async def call(emu: Emulator, user: UserSpec) -> InteractionRecord:
        # Raises NoAnswer unless the bot offered choices; calls run one at a time, so the
        # newest interaction is this one.
        await emu.autocomplete(name, {option: typed}, focused=option, user=user)
        return emu.interactions[-1]

    call.label = f"{name} {option}={typed!r}"  # type: ignore[attr-defined]
    call.kind = kind  # type: ignore[attr-defined]
    return call


def _typos(rng: random.Random, name: str) -> str:
    """A name as a hurried fan types it: one letter dropped, doubled or swapped."""
    chars = list(name)
    i = rng.randrange(1, len(chars) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        del chars[i]
    elif kind == 1:
        chars.insert(i, chars[i])
    else:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def build_cases(canon: SyntheticCanon, seed_names: list[str], speakers: list[str],
                commands: set[str], rng: random.Random, distinct: int = 200) -> list[Case]:
    """The cases, each call tagged with the kind of input it is. /character and autocomplete
    are built from as many names as their calls need (`distinct` calls), so that no answer
    kept from an earlier call flatters the figures, except those the index keeps on purpose
    (one or two letters: only so many exist) and first names that several characters share."""
    names = list(canon.character_names) + seed_names
    lookups: list[Call] = []
    for name in rng.sample(names, min(len(names), math.ceil(distinct / 4))):
        lookups += [_command("character", {"name": name}, "full name"),
                    _command("character", {"name": name.split(" ")[0]}, "first name"),
                    _command("character", {"name": _typos(rng, name)}, "typo"),
                    _command("character", {"name": name[: max(3, len(name) // 2)]},
                             "half the name")]
    # A fan typing a name, keystroke by keystroke (a few of them), and with a typo.
    typed: list[Call] = [_autocomplete("character", "name", "", "empty")]
    for name in rng.sample(names, min(len(names), math.ceil(distinct / 6))):
        typed += [_autocomplete("character", "name", name[:n], f"{n} letters" if n > 1 else
                                "1 letter") for n in (1, 2, 3, 5, 8)]
        typed.append(_autocomplete("character", "name", _typos(rng, name)[:6], "typo"))
    cases = [
        Case("baseline", "/about (baseline)", [_command("about")]),
        Case("character", "/character", lookups),
        Case("character_autocomplete", "/character autocomplete", typed, autocomplete=True),
    ]
    if "quote" not in commands:
        return cases
    character_filters = rng.sample(seed_names, min(5, len(seed_names))) + rng.sample(
        list(canon.character_names), min(5, len(canon.character_names)))
    filters: list[Call] = []
    for i in range(30):
        flt: dict[str, Any] = {}
        kind = i % 5
        if kind in (0, 3):
            flt["person"] = rng.choice(speakers)
        if kind in (1, 3, 4):
            flt["character"] = rng.choice(character_filters)
        if kind in (2, 4):
            flt["season"] = rng.randint(1, 3)
        filters.append(_command("quote random", flt, " + ".join(flt)))
    words = canon.words
    # Common, middling and rare words alone and together, a phrase, a prefix, OR, a speaker.
    searches = [(words[0], "common word"), (words[1], "common word"),
                (words[50], "middling word"), (words[200], "middling word"),
                (words[2000], "rare word"), (words[5000], "rare word"),
                (f"{words[200]} {words[5000]}", "two words"),
                (f"{words[3]} {words[40]}", "two words"),
                (f'"{words[0]} {words[1]}"', "phrase"), (f"{words[10][:3]}*", "prefix"),
                (f"{words[7]} OR {words[900]}", "OR"), (rng.choice(speakers), "speaker")]
    cases += [
        Case("quote_random", "/quote random", [_command("quote random", None, "no filter")]),
        Case("quote_random_filtered", "/quote random (filters)", filters),
        Case("quote_search", "/quote search",
             [_command("quote search", {"text": text}, kind) for text, kind in searches]),
    ]
    return cases


async def grow_store(db_path: Path, characters: int, quotes: int) -> SyntheticCanon:
    seed = load_seed(bot_settings(db_path).seed_dir)
    canon = synthesize(seed, characters=characters, quotes=quotes)
    async with await Store.open(db_path) as store:
        await store.canon.apply_seed(seed)
        await add_synthetic(store, canon)
    return canon


async def run(*, characters: int, quotes: int, calls: int, warmup: int, budget: float,
              work_dir: Path | None = None) -> Section:
    section = Section("latency", "Interaction latency, dispatch to callback")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        db_path = Path(folder) / "grown.db"
        grow_started = time.perf_counter()
        canon = await grow_store(db_path, characters, quotes)
        section.details["grow_seconds"] = round(time.perf_counter() - grow_started, 1)
        seed_names = [c.name for c in load_seed(bot_settings(db_path).seed_dir).characters]
        # No OpenAPI validation of the bot's requests here: the tests check those, and it would
        # add about 8 ms of the emulator's CPU to every reply on a 2-core machine.
        config = default_config(guilds=1, spec_path=None)
        guild_id = config.guilds[0].id
        fans = members(max(50, calls + warmup))
        add_members(config, fans)
        async with await Store.open(db_path) as store:
            stats = await store.stats()
            section.details["store"] = {"characters": stats.characters,
                                        "quotes": stats.quotes_canon}
            speakers = list(await store.quotes.speakers(guild_id, "", limit=200))
        async with running_emulator(config) as emu:
            # The bot runs as it does in production: its own process (`python -m bot run`), so
            # its event loop and interpreter lock serve the bot alone, as they would against
            # Discord; the emulator's work does not land inside the bot's figures.
            env = child_env(emu, db_path, DEV_GUILD_ID=str(guild_id), LOG_LEVEL="INFO")
            bot = await ChildBot(heartstopper_argv(), env).start()
            try:
                await bot.wait_for(READY_MARK, READY_TIMEOUT)
                commands = {c["name"] for c in emu.synced_commands(guild_id)}
                cases = build_cases(canon, seed_names, speakers, commands, random.Random(11),
                                    distinct=calls + warmup)
                results = await _measure(emu, cases, fans, calls, warmup, budget)
            finally:
                await bot.stop()
    _report(section, cases, results)
    section.seconds = time.perf_counter() - started
    return section


class _Tally:
    """One case's samples, failures and slowest calls."""

    def __init__(self, case: Case, fans: list[UserSpec]) -> None:
        self.case = case
        self.users = itertools.cycle(fans)
        self.plan = itertools.cycle(case.calls)
        self.samples: list[float] = []
        self.failures: list[str] = []
        self.slowest: list[tuple[float, str]] = []
        self.by_kind: dict[str, list[float]] = {}
        self.spent = 0.0

    async def call(self, emu: Emulator, measured: bool) -> None:
        call = next(self.plan)
        started = time.perf_counter()
        try:
            record = await call(emu, next(self.users))
        except Exception as exc:  # a failed call is a finding, not a crash of the suite
            self.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        finally:
            self.spent += time.perf_counter() - started
            # The bot still reads the callback's response after the emulator has it; let that
            # finish, so one call's tail never lands inside the next call's figure.
            await asyncio.sleep(SETTLE)
        latency = callback_latency(emu, record)
        if latency is None:
            self.failures.append(f"no callback recorded for interaction {record.id}")
        elif measured:
            self.samples.append(latency * 1000)
            self.by_kind.setdefault(getattr(call, "kind", ""), []).append(latency * 1000)
            self.slowest.append((latency * 1000, getattr(call, "label", "?")))
            if len(self.slowest) > 2 * SLOWEST_KEPT:
                self.slowest[:] = heapq.nlargest(SLOWEST_KEPT, self.slowest)

    def result(self, calls: int) -> dict[str, Any]:
        samples = self.samples
        return {
            "n": len(samples),
            "stopped_by_budget": len(samples) + len(self.failures) < calls,
            "p50_ms": percentile(samples, 50),
            "p99_ms": percentile(samples, 99),
            "mean_ms": sum(samples) / len(samples) if samples else float("nan"),
            "min_ms": min(samples) if samples else float("nan"),
            "max_ms": max(samples) if samples else float("nan"),
            "failures": len(self.failures),
            "failure_examples": self.failures[:3],
            "slowest": [(round(ms, 2), label)
                        for ms, label in heapq.nlargest(SLOWEST_KEPT, self.slowest)],
            # Where a case's tail comes from: its figures per kind of input.
            "by_kind": {kind: {"n": len(ms), "p50_ms": round(percentile(ms, 50), 3),
                               "p99_ms": round(percentile(ms, 99), 3)}
                        for kind, ms in sorted(self.by_kind.items()) if kind},
        }


async def _measure(emu: Emulator, cases: list[Case], fans: list[UserSpec], calls: int,
                   warmup: int, budget: float) -> dict[str, dict[str, Any]]:
    """`calls` measured calls of each case after `warmup` unmeasured ones, the cases taking
    turns (one call each, round after round) so that whatever else the machine is doing
    weighs on every case alike and the ratios to the baseline hold. A case stops early once
    its calls have taken `budget` seconds in all (a very slow case must not hold up the run)."""
    tallies = [_Tally(case, fans) for case in cases]
    for i in range(warmup + calls):
        for tally in tallies:
            if tally.spent <= budget:
                await tally.call(emu, measured=i >= warmup)
    results = {t.case.key: t.result(calls) for t in tallies}
    base = next(t.samples for t in tallies if t.case.key == "baseline")
    for tally in tallies:
        if tally.case.key != "baseline":
            results[tally.case.key]["p99_ratio_interval"] = ratio_interval(tally.samples, base)
    return results


def _report(section: Section, cases: list[Case], results: dict[str, dict[str, Any]]) -> None:
    section.details["cases"] = results
    base = results["baseline"]["p99_ms"]
    for case in cases:
        r = results[case.key]
        section.add(Figure(f"{case.label} p50", r["p50_ms"], "ms"))
        if case.autocomplete:
            section.add(Figure(f"{case.label} p99", r["p99_ms"], "ms",
                               f"< {AUTOCOMPLETE_P99_MS:g} ms",
                               r["p99_ms"] < AUTOCOMPLETE_P99_MS))
        else:
            section.add(Figure(f"{case.label} p99", r["p99_ms"], "ms"))
        if case.key != "baseline":
            ratio = r["p99_ms"] / base if base else float("nan")
            section.add(Figure(f"{case.label} p99 / baseline p99", ratio, "x",
                               f"<= {BASELINE_RATIO:g}x", ratio <= BASELINE_RATIO))
            low, high = r["p99_ratio_interval"]
            section.add(Figure(f"{case.label} p99 / baseline p99, 95% interval",
                               f"{low:.2f}-{high:.2f}", "x"))
        calls = r["n"] + r["failures"]
        section.add(Figure(f"{case.label} failed calls", r["failures"], f"of {calls}", "0",
                           r["failures"] == 0))
