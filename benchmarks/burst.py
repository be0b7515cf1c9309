"""Burst capacity: fans in many servers all typing at once, as on a premiere night.

The bot runs as its own process (`python -m bot run`) against the emulator, on a store grown to
benchmark size, and the emulator sends an open-loop mix of interactions: arrivals follow a
Poisson process at the offered rate and never wait for replies. The offered rate steps up
(doubling); at each step the figures are the interactions answered, p50 and p99 from dispatch to
the callback (both on the emulator's clock, as in the latency benchmark), callbacks later than
Discord's 3 s deadline, failures, and the CPU each process used. A step *holds* when its p99 is
under 1 s with no deadline missed, no failure, and the emulator really offered the rate (at
least 95% of it dispatched in time); the capacity is the highest rate that holds. A no-op
discord.py bot (`benchmarks/noop_bot.py`: one fixed answer to everything) is measured the same
way, the steps taking turns with the bot's, so the ratio of the two capacities says what the
bot's own work costs next to discord.py's and the machine's share.

Then the burst during a news fan-out: at half the bot's capacity, the same mix alone and while
one `/news post` goes out to every subscribed channel.

Reusable for several processes (shards across processes): `BotSpec.processes` holds one
environment overlay per child process (e.g. `{"SHARD_COUNT": "2", "SHARD_IDS": "0"}`), all on
the one database and the one emulator; `capacity_run` measures any list of specs in turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import random
import re
import resource
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.deliveries import post_news, tally, wait_delivered
from benchmarks.figures import Figure, Section, percentile
from benchmarks.latency import BOT_ERROR_MARK, grow_store
from benchmarks.processes import READY_MARK, ChildBot, child_env, heartstopper_argv
from benchmarks.synthetic import SyntheticCanon
from benchmarks.workspace import bot_settings, many_guilds, members
from bot.canon.seeding import load_seed
from bot.core.config import DEFAULT_NEWS_SENDS_PER_SECOND
from bot.store import Store
from emulator import Emulator, EmulatorConfig, MemberSpec, UserSpec
from emulator.results import InteractionRecord, walk_components
from emulator.state import StoredMessage
from emulator.testing import running_emulator

DEADLINE = 3.0  # Discord's: the first callback within 3 s of the event
P99_LIMIT_MS = 1000.0
OFFERED_SHARE = 0.95  # a step counts only if the emulator dispatched this much of its rate
TARGET_RATIO = 0.5
FANOUT_P99_RATIO = 1.5
FANOUT_PACE_SHARE = 0.95
READY_TIMEOUT = 120.0
DRAIN = DEADLINE + 2.0  # after the last arrival, how long answers may still come
COOLDOWN_MARK = "Slow down a little"  # bot/core/errors.py: a member's cooldown
ANOTHER_POOL = 5000  # recent /quote random cards fans press Another on, in turn
TYPED = (1, 2, 3, 5)  # letters typed before each autocomplete of a typing fan
KEYSTROKE = 0.15  # seconds between a typing fan's keystrokes


def noop_argv() -> list[str]:
    return [sys.executable, "-m", "benchmarks.noop_bot"]


@dataclass
class BotSpec:
    """What to measure: `processes` child processes of `argv`, each with its own environment
    overlay (shard ids), all on one database and one emulator of `shard_count` shards."""

    name: str
    argv: list[str]
    processes: list[dict[str, str]] = field(default_factory=lambda: [{}])
    shard_count: int = 1


@dataclass(frozen=True)
class Layout:
    guilds: int = 200
    channels_per_guild: int = 10
    fans_per_guild: int = 50


# -- the world and the mix -------------------------------------------------------------------


def burst_world(layout: Layout, shard_count: int = 1) -> tuple[EmulatorConfig, list[Fan]]:
    """Servers with distinct fans in each (a fan is reused only after every other fan had a
    turn, so members' cooldowns stay out of the figures), who run commands in each server's
    first channel, and `channels_per_guild` more channels subscribed to news."""
    config = many_guilds(layout.guilds, layout.channels_per_guild + 1, spec_path=None)
    config.shard_count = shard_count
    fans: list[Fan] = []
    everyone = members(layout.guilds * layout.fans_per_guild)
    for g, guild in enumerate(config.guilds):
        mine = everyone[g * layout.fans_per_guild:(g + 1) * layout.fans_per_guild]
        add_members_to(guild, mine)
        fans += [Fan(u, guild.id) for u in mine]
    random.Random(5).shuffle(fans)
    return config, fans


def subscribed(config: EmulatorConfig) -> list[tuple[int, int]]:
    """(guild id, channel id) of every news channel: all but each server's first, where fans
    talk, so the fan-out's tally counts news alone."""
    return [(g.id, c.id) for g in config.guilds for c in g.channels[1:]]


def add_members_to(guild: Any, users: list[UserSpec]) -> None:
    guild.members.extend(MemberSpec(u) for u in users)


@dataclass(frozen=True)
class Fan:
    user: UserSpec
    guild_id: int


@dataclass
class Inputs:
    names: list[str]
    speakers: list[str]
    words: list[str]
    seasons: list[int]


# One arrival: (seconds from the step's start, kind, what to send). A typing fan is several.
Fire = Callable[[Emulator, Fan, "Pool"], Awaitable[InteractionRecord | None]]
Arrival = tuple[float, str, Fan, Fire]


class Pool:
    """Cards fans may press Another on: recent answered /quote random replies, with their fan.
    Pressed in turn, so no fan presses so often that `/quote random`'s cooldown (which Another
    shares) answers instead of the command."""

    def __init__(self) -> None:
        self.cards: deque[tuple[StoredMessage, Fan]] = deque(maxlen=ANOTHER_POOL)

    def take(self) -> tuple[StoredMessage, Fan] | None:
        if not self.cards:
            return None
        card = self.cards.popleft()
        self.cards.append(card)
        return card


async def _send(emu: Emulator, fan: Fan, itype: int, data: dict[str, Any],
                source: StoredMessage | None = None) -> InteractionRecord:
    ctx = emu.factory.context(guild_id=fan.guild_id, user=fan.user)
    payload = emu.factory.base_payload(ctx, itype, data)
    if source is not None:
        payload["message"] = source.payload
    # Open loop: dispatch and return; the answer is read from the record after the step.
    return await emu._dispatch_interaction(payload, ctx, source=source)


def command(name: str, options: dict[str, Any] | None = None) -> Fire:
    async def fire(emu: Emulator, fan: Fan, pool: Pool) -> InteractionRecord:
        ctx = emu.factory.context(guild_id=fan.guild_id, user=fan.user)
        return await _send(emu, fan, 2, emu.factory.command(ctx, name, options))

    return fire


def autocomplete(name: str, option: str, typed: str) -> Fire:
    async def fire(emu: Emulator, fan: Fan, pool: Pool) -> InteractionRecord:
        ctx = emu.factory.context(guild_id=fan.guild_id, user=fan.user)
        data = emu.factory.command(ctx, name, {option: typed}, focused=option)
        return await _send(emu, fan, 4, data)

    return fire


async def press_another(emu: Emulator, fan: Fan, pool: Pool) -> InteractionRecord | None:
    card = pool.take()
    if card is None:
        return None
    message, owner = card
    button = next((c for c in walk_components(message.payload.get("components") or [])
                   if c.get("type") == 2 and "custom_id" in c), None)
    if button is None:
        return None
    data = {"custom_id": button["custom_id"], "component_type": 2}
    return await _send(emu, owner, 3, data, source=message)


class Mix:
    """The premiere-night mix, by share of interactions: /quote random alone (20%) and with
    filters (10%), Another presses (15%), fans typing a name into /character's autocomplete
    (1, 2, 3, 5 letters) then running it (30%), /quote search (10%), /news latest (7%),
    /season (8%)."""

    UNITS: tuple[tuple[str, float, int], ...] = (  # (kind, weight, interactions per unit)
        ("quote random", 20, 1), ("quote random (filters)", 10, 1), ("another", 15, 1),
        ("typing", 6, len(TYPED) + 1), ("quote search", 10, 1), ("news latest", 7, 1),
        ("season", 8, 1),
    )

    def __init__(self, inputs: Inputs, fans: list[Fan], seed: int = 23) -> None:
        self.inputs = inputs
        self.fans = fans
        self.next_fan = 0
        self.rng = random.Random(seed)
        total = sum(w for _, w, _ in self.UNITS)
        self.per_unit = sum(w * n for _, w, n in self.UNITS) / total
        self.kinds = [k for k, _, _ in self.UNITS]
        self.weights = [w for _, w, _ in self.UNITS]

    def fan(self) -> Fan:
        fan = self.fans[self.next_fan % len(self.fans)]
        self.next_fan += 1
        return fan

    def schedule(self, rate: float, seconds: float) -> list[Arrival]:
        """Poisson arrivals of units at `rate` interactions per second, expanded."""
        rng, out = self.rng, []
        t = rng.expovariate(rate / self.per_unit)
        while t < seconds:
            kind = rng.choices(self.kinds, self.weights)[0]
            out += self._unit(kind, t)
            t += rng.expovariate(rate / self.per_unit)
        out.sort(key=lambda a: a[0])
        return out

    def _unit(self, kind: str, t: float) -> list[Arrival]:
        rng, inp, fan = self.rng, self.inputs, self.fan()
        if kind == "quote random":
            return [(t, kind, fan, command("quote random"))]
        if kind == "quote random (filters)":
            options: dict[str, Any] = {}
            while not options:
                if rng.random() < 0.4:
                    options["person"] = rng.choice(inp.speakers)
                if rng.random() < 0.5:
                    options["character"] = rng.choice(inp.names)
                if rng.random() < 0.4:
                    options["season"] = rng.choice(inp.seasons)
            return [(t, kind, fan, command("quote random", options))]
        if kind == "another":
            return [(t, kind, fan, press_another)]
        if kind == "typing":
            name = rng.choice(inp.names)
            keys: list[Arrival] = [(t + i * KEYSTROKE, "character autocomplete", fan,
                                    autocomplete("character", "name", name[:n]))
                                   for i, n in enumerate(TYPED)]
            return [*keys, (t + len(TYPED) * KEYSTROKE + 0.3, "character", fan,
                            command("character", {"name": name}))]
        if kind == "quote search":
            words = inp.words
            roll = rng.random()
            text = (words[rng.randrange(0, 20)] if roll < 0.3
                    else words[rng.randrange(20, 2000)] if roll < 0.7
                    else f"{words[rng.randrange(0, 200)]} {words[rng.randrange(200, 5000)]}"
                    if roll < 0.9 else rng.choice(inp.speakers))
            return [(t, kind, fan, command("quote search", {"text": text}))]
        if kind == "news latest":
            return [(t, kind, fan, command("news latest"))]
        return [(t, "season", fan, command("season", {"number": rng.choice(inp.seasons)}))]


# -- processes and CPU -----------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Target:
    """One spec's bots, started on their own emulator."""

    spec: BotSpec
    emu: Emulator
    bots: list[ChildBot]
    fans: list[Fan]
    mix: Mix
    pool: Pool = field(default_factory=Pool)
    steps: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # the last step's, in ms

    @property
    def pids(self) -> list[int]:
        return [b.pid for b in self.bots]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No garbage collection in the emulator's process during a step: its passes over the
    records of thousands of interactions stall the emulator's loop, which stands in for
    Discord and must not land in the bot's figures (see deliveries.py). What a step leaves is
    dropped after it (`_forget`)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@contextlib.asynccontextmanager
async def started(spec: BotSpec, layout: Layout, db_path: Path, inputs: Inputs,
                  commands: list[dict[str, Any]] | None):
    """The spec's processes on an emulator of their own; yields a Target once every process is
    ready and the commands are registered globally."""
    config, fans = burst_world(layout, spec.shard_count)
    async with running_emulator(config) as emu:
        dev_guild = str(config.guilds[0].id)
        bots = []
        try:
            for overlay in spec.processes:
                env = child_env(emu, db_path, DEV_GUILD_ID=dev_guild, LOG_LEVEL="INFO",
                                **overlay)
                bots.append(await ChildBot(spec.argv, env).start())
            for bot in bots:
                await bot.wait_for(READY_MARK, READY_TIMEOUT)
            defs = commands if commands is not None else emu.synced_commands(int(dev_guild))
            # Fans everywhere use the commands: registered globally, as `heartstopper-bot sync`
            # does (the bot itself syncs only to its development server).
            emu.commands.overwrite(None, [_definition(c) for c in defs])
            yield Target(spec, emu, bots, fans, Mix(inputs, fans))
        finally:
            for bot in bots:
                await bot.stop()


def _definition(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items()
            if k not in ("id", "application_id", "version", "guild_id")}


# -- one step ----------------------------------------------------------------------------------


@dataclass
class Sent:
    kind: str
    scheduled: float  # on the emulator's clock
    record: InteractionRecord | None


async def drive(target: Target, arrivals: list[Arrival]) -> list[Sent]:
    """Fire each arrival at its time without waiting for any answer (open loop)."""
    emu, pool = target.emu, target.pool
    loop = asyncio.get_running_loop()
    start = emu.clock.now()
    sent: list[Sent] = []
    tasks: set[asyncio.Task[None]] = set()

    async def one(at: float, kind: str, fan: Fan, fire: Fire) -> None:
        item = Sent(kind, start + at, None)
        sent.append(item)
        item.record = await fire(emu, fan, pool)

    for at, kind, fan, fire in arrivals:
        delay = start + at - emu.clock.now()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(at, kind, fan, fire))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return sent


def _callback_times(emu: Emulator) -> dict[int, float]:
    """Interaction id -> when its first callback request reached the emulator."""
    first: dict[int, float] = {}
    for request in emu.requests:
        if request.path.startswith("/interactions/"):
            iid = int(request.path.split("/", 3)[2])
            first.setdefault(iid, request.time)
    return first


async def _drain(emu: Emulator, sent: list[Sent]) -> None:
    """Until every interaction is answered or refused, or its deadline (and a little) passed."""
    end = emu.clock.now() + DRAIN
    while emu.clock.now() < end:
        if all(s.record is None or s.record.response_type is not None or s.record.errors
               for s in sent):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # edits and late requests that follow a callback


def _content(emu: Emulator, record: InteractionRecord) -> str:
    mid = record.message_id or record.source_message_id
    message = emu.world.messages.get(mid or 0)
    return "" if message is None else str(message.payload.get("content") or "")


def analyse(target: Target, sent: list[Sent], rate: float, seconds: float) -> dict[str, Any]:
    emu = target.emu
    callbacks = _callback_times(emu)
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    lags: list[float] = []
    late = failures = refused = unsent = 0
    examples: list[str] = []
    for s in sent:
        record = s.record
        if record is None:
            unsent += 1  # an Another press before any card existed: nothing was sent
            continue
        lags.append((record.dispatched_at - s.scheduled) * 1000)
        at = callbacks.get(record.id)
        codes = [e.get("code") for e in record.errors]
        if at is None or 10062 in codes:
            late += 1  # no callback in time: the fan saw "The application did not respond"
            if len(examples) < 5:
                examples.append(f"{s.kind}: {'late' if at is not None else 'no callback'}")
            continue
        ms = (at - record.dispatched_at) * 1000
        latencies.append(ms)
        by_kind.setdefault(s.kind, []).append(ms)
        if ms > DEADLINE * 1000:
            late += 1
        content = _content(emu, record)
        if record.errors or BOT_ERROR_MARK in content:
            failures += 1
            if len(examples) < 5:
                examples.append(f"{s.kind}: {record.errors[:1] or content[:120]}")
        elif COOLDOWN_MARK in content:
            refused += 1
        if s.kind == "quote random" and record.message_id and not record.errors:
            message = emu.world.messages.get(record.message_id)
            if message is not None and message.payload.get("components"):
                target.pool.cards.append((message, _fan_of(target, record)))
    dispatched = len(sent) - unsent
    # Sent within a quarter second of its time: the emulator kept up with the offered rate.
    offered_in_time = sum(1 for lag in lags if lag < 250)
    answered = len(latencies)
    p99 = percentile(latencies, 99)
    target.latencies = latencies
    result = {
        "rate": rate, "seconds": seconds, "dispatched": dispatched,
        "dispatched_in_time": offered_in_time,
        "achieved_rate": round(dispatched / seconds, 1) if seconds else 0.0,
        "answered": answered, "late": late, "failures": failures, "refused": refused,
        "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(p99, 2),
        "max_ms": round(max(latencies), 2) if latencies else math.nan,
        "dispatch_lag_p99_ms": round(percentile(lags, 99), 2) if lags else math.nan,
        "failure_examples": examples,
        "by_kind": {k: {"n": len(v), "p50_ms": round(percentile(v, 50), 2),
                        "p99_ms": round(percentile(v, 99), 2)}
                    for k, v in sorted(by_kind.items())},
    }
    offered_ok = offered_in_time >= OFFERED_SHARE * dispatched
    result["offered_ok"] = offered_ok
    result["holds"] = bool(answered and p99 < P99_LIMIT_MS and late == 0 and failures == 0
                           and offered_ok)
    return result


def _fan_of(target: Target, record: InteractionRecord) -> Fan:
    return Fan(target.emu.world.users[record.user_id], record.guild_id or 0)


def _forget(target: Target) -> None:
    """Drop what a step left in the emulator (requests, interactions, their replies), keeping
    the cards fans may still press, so memory and lookups stay flat from step to step."""
    emu = target.emu
    keep = {message.id for message, _ in target.pool.cards}
    emu.requests.clear()
    emu.interactions.clear()
    emu.interactions_by_id.clear()
    world = emu.world
    gone = {mid for mid, m in world.messages.items()
            if m.interaction_id is not None and mid not in keep}
    for mid in gone:
        del world.messages[mid]
    for log in world.channel_log.values():
        log[:] = [mid for mid in log if mid not in gone]
    for mid in keep:
        world.messages[mid].history.clear()
    gc.collect()


async def step(target: Target, rate: float, seconds: float, *,
               during: Callable[[], Awaitable[None]] | None = None) -> dict[str, Any]:
    """Offer `rate` interactions per second for `seconds`; `during` runs alongside (a fan-out)."""
    arrivals = target.mix.schedule(rate, seconds)
    load0 = os.getloadavg()[0]
    with _gc_paused():
        cpu0, bots0, wall0 = own_cpu(), [process_cpu(p) for p in target.pids], time.perf_counter()
        side = asyncio.create_task(during()) if during is not None else None
        sent = await drive(target, arrivals)
        cpu1, bots1, wall1 = own_cpu(), [process_cpu(p) for p in target.pids], time.perf_counter()
        await _drain(target.emu, sent)
        if side is not None:
            await side
    result = analyse(target, sent, rate, seconds)
    wall = wall1 - wall0
    result["cpu"] = {
        "emulator_percent": round(100 * (cpu1 - cpu0) / wall, 1),
        "bot_percent": [round(100 * (b1 - b0) / wall, 1) for b0, b1 in zip(bots0, bots1,
                                                                          strict=True)],
    }
    result["load_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    _forget(target)
    await settle(target)
    return result


async def settle(target: Target, *, idle_percent: float = 15.0, limit: float = 60.0) -> None:
    """Until every bot process is idle again: after a step it could not keep up with, a bot
    still works through events whose deadline has passed, which must not land in the next."""
    end = time.perf_counter() + limit
    while time.perf_counter() < end:
        before = [process_cpu(p) for p in target.pids]
        await asyncio.sleep(0.5)
        used = [process_cpu(p) - b for p, b in zip(target.pids, before, strict=True)]
        if max(used, default=0.0) * 100 / 0.5 < idle_percent:
            return


async def warm_up(target: Target, calls: int = 40) -> None:
    """A few interactions one at a time: caches warm, and cards to press Another on."""
    sent = []
    for kind, _, fan, fire in target.mix.schedule(20.0, calls / 20.0):
        record = await fire(target.emu, fan, target.pool)
        sent.append(Sent(kind, target.emu.clock.now(), record))
        await asyncio.sleep(0.02)
    await _drain(target.emu, sent)
    analyse(target, sent, 20.0, calls / 20.0)
    _forget(target)


# -- the run -----------------------------------------------------------------------------------


async def prepare(db_path: Path, characters: int, quotes: int,
                  channels: list[tuple[int, int]], subscriber: int) -> Inputs:
    """The grown store (see latency.py), with every channel subscribed to news."""
    canon: SyntheticCanon = await grow_store(db_path, characters, quotes)
    seed = load_seed(bot_settings(db_path).seed_dir)
    async with await Store.open(db_path) as store:
        guild_id = channels[0][0]
        speakers = list(await store.quotes.speakers(guild_id, "", limit=200))
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        for gid, cid in channels:
            await store.news.subscribe(gid, cid, role_id=None, publish=False,
                                       subscribed_by=subscriber, now=now)
    seasons = sorted({s.number for s in seed.seasons}) or [1]
    names = [c.name for c in seed.characters] + list(canon.character_names)
    return Inputs(names=names, speakers=speakers, words=list(canon.words),
                  seasons=[n for n in seasons if n <= 3] or seasons)


def rates_from(first: float, most: float) -> list[float]:
    out, rate = [], first
    while rate <= most:
        out.append(rate)
        rate *= 2
    return out


# After the first failure, the search narrows the gap between the last rate that held and the
# first that did not until it is within this factor (or after REFINE_STEPS steps): doubling
# alone reports a capacity up to half too low, and two such figures in a ratio even more so.
REFINE_WITHIN = 1.15
REFINE_STEPS = 4


def next_refinement(steps: list[dict[str, Any]]) -> float | None:
    """The rate to try next between the last rate that held (below the first failure) and the
    lowest that failed, or None when the gap is narrow enough or nothing has failed yet."""
    ceiling = min((s["rate"] for s in steps if not s["holds"]), default=None)
    if ceiling is None:
        return None
    floor = capacity(steps)
    if floor <= 0 or ceiling <= floor * REFINE_WITHIN:
        return None
    return float(round((floor + ceiling) / 2))


async def ramp(targets: list[Target], rates: list[float], seconds: float, *,
               refine: bool, echo: Callable[[str], None]) -> None:
    """Step every target up the rates, taking turns at each rate, until a step does not hold;
    then, with `refine`, bisect between its last holding rate and the first that failed."""
    active = list(targets)
    for rate in rates:
        for target in list(active):
            result = await step(target, rate, seconds)
            target.steps.append(result)
            echo(_line(target, result))
            if not result["holds"]:
                active.remove(target)
        if not active:
            break
    if not refine:
        return
    for target in targets:
        for _ in range(REFINE_STEPS):
            refined = next_refinement(target.steps)
            if refined is None:
                break
            result = await step(target, refined, seconds)
            target.steps.append(result)
            echo(_line(target, result))


def _line(target: Target, r: dict[str, Any]) -> str:
    return (f"   {target.spec.name:>14} {r['rate']:>6g}/s: answered {r['answered']:>6} "
            f"p50 {r['p50_ms']:>8.1f} ms p99 {r['p99_ms']:>8.1f} ms late {r['late']} "
            f"failed {r['failures']} cpu emu {r['cpu']['emulator_percent']}% bot "
            f"{r['cpu']['bot_percent']} load {r['load_1min'][1]} "
            f"{'holds' if r['holds'] else 'DOES NOT HOLD'}")


def capacity(steps: list[dict[str, Any]]) -> float:
    held = [s["rate"] for s in steps if s["holds"]]
    failed = [s["rate"] for s in steps if not s["holds"]]
    # Only rates below the first failure count: a noisy pass above it is not capacity.
    ceiling = min(failed) if failed else math.inf
    below = [r for r in held if r < ceiling]
    return max(below) if below else 0.0


async def capacity_run(specs: list[BotSpec], *, layout: Layout, db_path: Path, inputs: Inputs,
                       rates: list[float], seconds: float, refine: bool = True,
                       echo: Callable[[str], None] = print,
                       after: Callable[[list[Target]], Awaitable[None]] | None = None,
                       ) -> list[Target]:
    """Start every spec on its own emulator (one at a time, each then idle while the others
    run), warm each up, step them up the rates in turns; `after` runs with every target still
    up. The first spec's synced commands are registered for the others too."""
    async with contextlib.AsyncExitStack() as stack:
        targets: list[Target] = []
        commands: list[dict[str, Any]] | None = None
        for spec in specs:
            target = await stack.enter_async_context(
                started(spec, layout, db_path, inputs, commands))
            if commands is None:
                commands = target.emu.synced_commands(target.emu.config.guilds[0].id)
            targets.append(target)
        for target in targets:
            await warm_up(target)
        await asyncio.sleep(2.0)  # start-up work (the index upkeep's first round) settles
        await ramp(targets, rates, seconds, refine=refine, echo=echo)
        if after is not None:
            await after(targets)
    return targets


async def during_fanout(target: Target, rate: float, seconds: float, pace: float,
                        echo: Callable[[str], None]) -> dict[str, Any]:
    """The burst at `rate` while one /news post fans out to every channel, and alone just
    before and just after (pooled: the machine's other work drifts over a run)."""
    emu = target.emu
    before = await step(target, rate, seconds)
    echo(_line(target, before) + "  (no fan-out, before)")
    alone_ms = list(target.latencies)
    channels = subscribed(emu.config)
    fanout: dict[str, Any] = {}

    async def fan_out() -> None:
        before, started_at = emu.stats.rate_limited, time.perf_counter()
        await post_news(emu, "Premiere night")
        fanout["complete"] = await wait_delivered(emu, len(channels),
                                                  limit=len(channels) / pace * 2 + 60)
        fanout["seconds"] = time.perf_counter() - started_at
        fanout["rate_limited"] = emu.stats.rate_limited - before
        fanout["limited"] = dict(Counter(f"{r.method} {r.route}" for r in emu.requests
                                         if r.status == 429))

    with_fanout = await step(target, rate, seconds, during=fan_out)
    echo(_line(target, with_fanout) + "  (during the fan-out)")
    fanout.update(tally(emu, channels).as_json())
    fanout["pace"] = pace
    after = await step(target, rate, seconds)
    echo(_line(target, after) + "  (no fan-out, after)")
    alone_ms += target.latencies
    alone = {"p50_ms": round(percentile(alone_ms, 50), 2),
             "p99_ms": round(percentile(alone_ms, 99), 2),
             "late": before["late"] + after["late"],
             "failures": before["failures"] + after["failures"]}
    return {"rate": rate, "alone": alone, "alone_before": before, "alone_after": after,
            "with_fanout": with_fanout, "fanout": fanout}


async def run(*, characters: int, quotes: int, layout: Layout, first_rate: float,
              max_rate: float, seconds: float, refine: bool = True, fanout: bool = True,
              work_dir: Path | None = None, echo: Callable[[str], None] = print) -> Section:
    section = Section("burst", "Burst capacity: an open-loop mix from many servers")
    started_at = time.perf_counter()
    pace = DEFAULT_NEWS_SENDS_PER_SECOND
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        db_path = Path(folder) / "burst.db"
        config, _ = burst_world(layout)
        grow = time.perf_counter()
        inputs = await prepare(db_path, characters, quotes, subscribed(config),
                               config.owner.id)
        section.details["grow_seconds"] = round(time.perf_counter() - grow, 1)
        specs = [BotSpec("bot", heartstopper_argv()), BotSpec("no-op bot", noop_argv())]
        extra: dict[str, Any] = {}

        async def then(targets: list[Target]) -> None:
            bot = targets[0]
            cap = capacity(bot.steps)
            if fanout and cap > 0:
                # Steady enough for this part: as long as the fan-out itself, at most.
                length = min(seconds * 2, len(subscribed(config)) / pace * 0.9)
                extra["fanout"] = await during_fanout(bot, cap / 2, max(length, seconds),
                                                      pace, echo)

        targets = await capacity_run(specs, layout=layout, db_path=db_path, inputs=inputs,
                                     rates=rates_from(first_rate, max_rate), seconds=seconds,
                                     refine=refine, echo=echo, after=then)
    _report(section, targets, extra.get("fanout"), layout)
    section.seconds = time.perf_counter() - started_at
    return section


_EVENT_LOOP_LINE = re.compile(r"event loop: (\w+)")


def event_loops(target: Target) -> list[str | None]:
    """The loop each of the target's processes said at start it runs on (None: it did not say):
    the bot and the no-op are compared on the same one."""
    found = []
    for child in target.bots:
        matches = (_EVENT_LOOP_LINE.search(line) for _, line in child.lines)
        found.append(next((m.group(1) for m in matches if m), None))
    return found


def _report(section: Section, targets: list[Target], fanout: dict[str, Any] | None,
            layout: Layout) -> None:
    bot, noop = targets[0], targets[1]
    caps = {t.spec.name: capacity(t.steps) for t in targets}
    ratio = caps["bot"] / caps["no-op bot"] if caps["no-op bot"] else math.nan
    section.details.update(
        layout={"guilds": layout.guilds, "channels_per_guild": layout.channels_per_guild,
                "fans": layout.guilds * layout.fans_per_guild},
        mix={k: w for k, w, _ in Mix.UNITS},
        steps={t.spec.name: t.steps for t in targets},
        capacity=caps, capacity_ratio=ratio, fanout=fanout,
        event_loops={t.spec.name: event_loops(t) for t in targets},
    )
    for target in (bot, noop):
        name = target.spec.name
        for s in target.steps:
            section.add(Figure(
                f"{name} at {s['rate']:g}/s: answered, p50 / p99, late, failed, CPU bot / emulator",
                f"{s['answered']:,}, {s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms, {s['late']}, "
                f"{s['failures']}, {'+'.join(f'{c:.0f}' for c in s['cpu']['bot_percent'])}% / "
                f"{s['cpu']['emulator_percent']:.0f}% (load {s['load_1min'][1]:.1f})"
                + ("" if s["holds"] else " - does not hold"), ""))
        section.add(Figure(f"{name}: capacity (p99 < 1 s, no deadline missed, no failure)",
                           caps[name], "interactions/s"))
    section.add(Figure("capacity ratio (bot / no-op bot)", ratio, "x",
                       f">= {TARGET_RATIO:g}", ratio >= TARGET_RATIO if ratio == ratio else None))
    if fanout is None:
        return
    alone, during = fanout["alone"], fanout["with_fanout"]
    fo = fanout["fanout"]
    channels = fo["channels"]
    p99_ratio = during["p99_ms"] / alone["p99_ms"] if alone["p99_ms"] else math.nan
    label = f"at {fanout['rate']:g}/s with /news post to {channels:,} channels"
    section.add(
        Figure(f"{label}: p99 alone (before and after, pooled) / during the fan-out",
               f"{alone['p99_ms']:.1f} / {during['p99_ms']:.1f}", "ms"),
        Figure(f"{label}: p99 during / alone", p99_ratio, "x", f"<= {FANOUT_P99_RATIO:g}x",
               p99_ratio <= FANOUT_P99_RATIO),
        Figure(f"{label}: deadlines missed", during["late"] + alone["late"], "", "0",
               during["late"] + alone["late"] == 0),
        Figure(f"{label}: failed", during["failures"], "", "0", during["failures"] == 0),
        Figure(f"{label}: fan-out sustained send rate", fo["sustained_rate"], "msg/s",
               f">= {FANOUT_PACE_SHARE * fo['pace']:.2f} (95% of pace)",
               fo["sustained_rate"] >= FANOUT_PACE_SHARE * fo["pace"]),
        Figure(f"{label}: fan-out 429s", fo["rate_limited"], "", "0", fo["rate_limited"] == 0),
        Figure(f"{label}: fan-out lost / doubled", f"{fo['lost']} / {fo['duplicates']}", "",
               "0 / 0", fo["lost"] == 0 and fo["duplicates"] == 0),
    )


