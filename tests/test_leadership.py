"""The lease that picks the one process running the background work (bot/core/leadership.py):
two processes' worth of Leadership on one real SQLite file, each with its own connections, on a
clock the test moves. Rounds are driven by hand (`tick`, `check_lapse`), as the loop would."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.database import Database
from bot.core.leadership import (
    BACKGROUND,
    Leadership,
    Lease,
    LeaseTiming,
    describe_lease,
    shard_count_conflict,
)

TIMING = LeaseTiming()  # the real ones: lease 15 s, renewed every 5 s, stopped 3 s early


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Process:
    """What one bot process holds: its own database connections and its Leadership, with a
    piece of background work that records when it runs."""

    def __init__(self, name: str, database: Database, clock: Clock, events: list[str], *,
                 alone: bool = False, shard_count: int | None = 2) -> None:
        self.name = name
        self.database = database
        self.events = events
        self.woken = 0
        self.running = False
        self.leadership = Leadership(database, info=f"process {name}", shard_count=shard_count,
                                     alone=alone, clock=clock, timing=TIMING)
        self.leadership.add("work", self._start, self._stop, wake=self._wake)

    async def _start(self) -> None:
        self.running = True
        self.events.append(f"{self.name} starts")

    def _stop(self) -> None:
        self.running = False
        self.events.append(f"{self.name} stops")

    def _wake(self) -> None:
        self.woken += 1


@pytest.fixture
async def world(db_path: Path) -> AsyncIterator[tuple[Clock, list[str], list[Database]]]:
    databases = [await Database.open(db_path) for _ in range(3)]
    try:
        yield Clock(), [], databases
    finally:
        for database in databases:
            await database.close()


def one_runs(*processes: Process) -> None:
    assert sum(p.running for p in processes) <= 1
    assert sum(p.leadership.leading for p in processes) <= 1


async def test_the_first_takes_it_renews_it_and_the_other_takes_over_once_it_lapses(
        world: tuple[Clock, list[str], list[Database]]) -> None:
    clock, events, (db_a, db_b, _) = world
    a, b = Process("a", db_a, clock, events), Process("b", db_b, clock, events)
    assert await a.leadership.tick() is True
    assert await b.leadership.tick() is False
    assert events == ["a starts"] and a.running and not b.running
    first = a.leadership.lease
    assert first is not None and first.term == 1 and first.holder_info == "process a"
    # a renews every 5 s: b never gets in, however often it looks.
    for _ in range(6):
        clock.advance(TIMING.renew_every)
        assert await a.leadership.tick() is True
        assert await b.leadership.tick() is False
        one_runs(a, b)
    renewed = a.leadership.lease
    assert renewed is not None and renewed.term == 1 and renewed.acquired_at == first.acquired_at
    assert renewed.expires_at == clock.now + timedelta(seconds=TIMING.lease)
    assert b.leadership.lease == renewed  # what b saw: who leads, for status displays
    # a stops renewing (its process hangs, say): the lease holds until it lapses...
    clock.advance(TIMING.lease - 0.001)
    assert await b.leadership.tick() is False
    # ...and then b takes it, as a new term.
    clock.advance(0.001)
    assert await b.leadership.tick() is True
    taken = b.leadership.lease
    assert taken is not None and taken.term == 2 and taken.holder == b.leadership.token
    # a, back, finds it lost and stops its work at its next look.
    assert await a.leadership.tick() is False
    assert not a.running and b.running
    assert events == ["a starts", "b starts", "a stops"]


async def test_a_holder_that_cannot_renew_stops_before_anyone_may_take_over(
        world: tuple[Clock, list[str], list[Database]]) -> None:
    clock, events, (db_a, db_b, _) = world
    a, b = Process("a", db_a, clock, events), Process("b", db_b, clock, events)
    await a.leadership.tick()
    db_a.write_fault = lambda: sqlite3.OperationalError("database is locked")
    renewed_at = clock.now
    for _ in range(int((TIMING.lease - TIMING.stop_margin) // 1) - 1):
        clock.advance(1)
        assert await a.leadership.tick() is True  # failed, but the lease still holds
        await a.leadership.check_lapse()
        assert a.running
        assert await b.leadership.tick() is False
    # The stop margin before the lease ends: a stops, though nobody took anything yet.
    clock.now = renewed_at + timedelta(seconds=TIMING.lease - TIMING.stop_margin)
    await a.leadership.check_lapse()
    assert not a.running and not a.leadership.leading
    assert await b.leadership.tick() is False  # the lease itself has not lapsed
    clock.now = renewed_at + timedelta(seconds=TIMING.lease)
    assert await b.leadership.tick() is True
    assert events == ["a starts", "a stops", "b starts"]  # never both
    # a's writes work again: it follows, and does not take the work back.
    db_a.write_fault = None
    assert await a.leadership.tick() is False
    one_runs(a, b)


async def test_a_clean_stop_hands_over_at_once(
        world: tuple[Clock, list[str], list[Database]]) -> None:
    clock, events, (db_a, db_b, _) = world
    a, b = Process("a", db_a, clock, events), Process("b", db_b, clock, events)
    await a.leadership.tick()
    await a.leadership.stop()
    assert not a.running
    assert await b.leadership.tick() is True  # no waiting for the lease to lapse
    assert await a.leadership.tick() is False  # a stopped process never takes it again
    assert events == ["a starts", "a stops", "b starts"]


async def test_two_looking_at_once_at_a_lapsed_lease_cannot_both_win(
        world: tuple[Clock, list[str], list[Database]]) -> None:
    clock, events, databases = world
    processes = [Process(name, db, clock, events) for name, db in zip("abc", databases,
                                                                      strict=True)]
    for _ in range(3):
        won = await asyncio.gather(*(p.leadership.tick() for p in processes))
        assert won.count(True) == 1
        one_runs(*processes)
        leader = processes[won.index(True)]
        # The leader vanishes without a word; the others race for the lapsed lease.
        processes.remove(leader)
        leader.running = False
        clock.advance(TIMING.lease)
        if len(processes) == 1:
            assert await processes[0].leadership.tick() is True
            break


async def test_a_process_serving_the_database_alone_takes_it_at_once(
        world: tuple[Clock, list[str], list[Database]]) -> None:
    """Restarted after SIGKILL, a process without SHARD_IDS does not wait out the dead one's
    lease: its exclusive serving lock says nobody else serves this database."""
    clock, events, (db_a, db_b, _) = world
    dead = Process("dead", db_a, clock, events)
    await dead.leadership.tick()
    restarted = Process("restarted", db_b, clock, events, alone=True, shard_count=None)
    assert await restarted.leadership.tick() is True
    lease = restarted.leadership.lease
    assert lease is not None and lease.term == 2 and lease.shard_count is None


async def test_the_leader_wakes_its_work_when_another_process_commits(
        world: tuple[Clock, list[str], list[Database]]) -> None:
    clock, events, (db_a, db_b, _) = world
    a, b = Process("a", db_a, clock, events), Process("b", db_b, clock, events)
    await a.leadership.tick()
    await b.leadership.tick()
    await a.leadership.wake_on_commits()  # the first look only notes where things stand
    await a.leadership.wake_on_commits()
    assert a.woken == 0
    async with db_b.transaction() as db:  # b answers a command that writes
        await db.execute("UPDATE leases SET holder_info = 'changed'")
    await a.leadership.wake_on_commits()
    assert a.woken == 1
    await a.leadership.tick()  # its own writes wake nothing
    await a.leadership.wake_on_commits()
    assert a.woken == 1 and b.woken == 0


async def test_the_loop_renews_and_takes_over_by_itself(db_path: Path) -> None:
    """The same on real time, with short timings: the loop, not the test, does the rounds."""
    timing = LeaseTiming(lease=2.0, renew_every=0.3, follow_every=0.2, stop_margin=0.5,
                         wake_every=0.1)
    events: list[str] = []
    dbs = [await Database.open(db_path) for _ in range(2)]
    processes = []
    try:
        for name, database in zip("ab", dbs, strict=True):
            p = Process(name, database, Clock(), events)
            p.leadership = Leadership(database, info=name, alone=False, timing=timing)
            p.leadership.add("work", p._start, p._stop)
            processes.append(p)
        a, b = processes
        await a.leadership.start()
        await b.leadership.start()
        await asyncio.sleep(1.0)  # several renewals
        assert events == ["a starts"]
        # a's process freezes: its loop stops, its lease is left to lapse.
        assert a.leadership._task is not None
        a.leadership._task.cancel()
        for _ in range(200):
            if b.running:
                break
            await asyncio.sleep(0.05)
        assert b.running and events == ["a starts", "b starts"]
        current = await b.leadership.leases.current(BACKGROUND)
        assert current is not None and current.holder_info == "b" and current.term == 2
    finally:
        for p in processes:
            await p.leadership.stop()
        for database in dbs:
            await database.close()


def test_every_slice_must_agree_on_the_shard_count() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    lease = Lease(BACKGROUND, "x", "pid 7 on host, shards 0-1 of 4", 4, 1, now, now,
                  now + timedelta(seconds=15))
    assert shard_count_conflict(lease, 4, now) is None
    problem = shard_count_conflict(lease, 2, now)
    assert problem == ("SHARD_COUNT is 2 here, but the process running this database's "
                       "background work (pid 7 on host, shards 0-1 of 4) has SHARD_COUNT=4. "
                       "Give every process serving one database the same SHARD_COUNT.")
    assert shard_count_conflict(lease, 2, now + timedelta(seconds=15)) is None  # it lapsed
    assert shard_count_conflict(None, 2, now) is None


def test_who_runs_it_reads_in_one_line() -> None:
    now = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    lease = Lease(BACKGROUND, "x", "pid 7 on host, shards 0 of 2", 2, 3,
                  now - timedelta(hours=5), now - timedelta(seconds=4),
                  now + timedelta(seconds=11))
    assert describe_lease(lease, now) == ("pid 7 on host, shards 0 of 2 (since 5 h ago, renewed "
                                          "4 s ago)")
    assert describe_lease(lease, now + timedelta(minutes=3)) == (
        "nobody now: the lease lapsed 2 min ago (last held by pid 7 on host, shards 0 of 2)")
    assert describe_lease(None, now) == "no process has run it yet"
