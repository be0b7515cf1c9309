"""Exactly one process runs the background work, chosen through the database.

Several processes may serve shard slices of one database (SHARD_IDS; bot/core/service_lock.py
lets them share it). Each answers its own servers' commands, but news delivery, feed polling,
the quote of the day, the search index's upkeep and the backups must run once: two news engines
would each send at the full pace (together twice Discord's budget for the bot), and two pollers
would fetch every feed twice.

The process holding the lease row 'background' (table `leases`, migration 0016) runs them. It
renews the lease every `renew_every` seconds for `lease` seconds; the others look every
`follow_every` seconds and take it once it has lapsed, so a holder that dies (SIGKILL included)
is replaced within `lease + follow_every` seconds. A holder that cannot renew (the database
refusing its writes) stops its work `stop_margin` seconds before its lease ends, so the work
never runs in two processes while the lease says one. A holder that stops cleanly gives the
lease up at once.

A process that serves a database alone (no SHARD_IDS: its serving lock is exclusive) takes the
lease whatever the row says: whoever held it is gone.

What the new holder's work finds half done is its own to finish: the news engine's start takes
back every delivery left in flight, whichever process claimed it, and re-sends it with the same
nonce or reads the channel back first, so nothing is lost or posted twice (bot/news/engine.py).

Cogs do not start background work themselves: they register it (`bot.background.add(name,
start, stop)`), and the leader starts it. The leader also wakes what asks to be woken (the news
engine) when another process commits, so a `/news post` answered by a process that does not
deliver goes out at once instead of at the engine's next idle look.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import secrets
import socket
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiosqlite

from bot.core.database import Database, StoreError
from bot.core.times import parse_stamp, stamp

log = logging.getLogger(__name__)

BACKGROUND = "background"  # the one lease there is

Step = Callable[[], Awaitable[object] | None]


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    lease: float = 15.0  # how long a renewal holds
    renew_every: float = 5.0  # the holder renews this often
    follow_every: float = 2.0  # the others look this often whether it lapsed
    stop_margin: float = 3.0  # a holder that cannot renew stops this long before it lapses
    wake_every: float = 1.0  # the holder looks for other processes' commits this often

    def __post_init__(self) -> None:
        if not 0 < self.renew_every < self.lease - self.stop_margin:
            raise ValueError("renew_every must be shorter than lease - stop_margin")


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    holder_info: str
    shard_count: int | None
    term: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return self.expires_at > now


class LeaseRepository:
    """The `leases` table: all of leadership's SQL."""

    _COLUMNS = ("name, holder, holder_info, shard_count, term, acquired_at, renewed_at,"
                " expires_at")

    def __init__(self, database: Database) -> None:
        self._db = database

    async def take(self, name: str, holder: str, info: str, shard_count: int | None,
                   now: datetime, until: datetime, *, force: bool = False) -> Lease | None:
        """Take or renew the lease until `until` if `holder` has it, it has lapsed, it was
        never taken, or `force`; the lease as it now stands, None if another holds it. One
        statement: two processes cannot both win it."""
        rows = await self._db.write_one(
            f"INSERT INTO leases ({self._COLUMNS}) VALUES (?, ?, ?, ?, 1, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET"
            "  term = CASE WHEN leases.holder = excluded.holder THEN leases.term"
            "   ELSE leases.term + 1 END,"
            "  acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at"
            "   ELSE excluded.acquired_at END,"
            "  holder = excluded.holder, holder_info = excluded.holder_info,"
            "  shard_count = excluded.shard_count, renewed_at = excluded.renewed_at,"
            "  expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.renewed_at"
            "  OR ?"
            f" RETURNING {self._COLUMNS}",
            (name, holder, info, shard_count, stamp(now), stamp(now), stamp(until), int(force)))
        return _lease(rows[0]) if rows else None

    async def release(self, name: str, holder: str, now: datetime) -> bool:
        """Give the lease up now (it stays as a record of who held it last)."""
        rows = await self._db.write_one(
            "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? RETURNING name",
            (stamp(now), name, holder))
        return bool(rows)

    async def current(self, name: str = BACKGROUND) -> Lease | None:
        row = await self._db.fetch_one(
            f"SELECT {self._COLUMNS} FROM leases WHERE name = ?", (name,))
        return None if row is None else _lease(row)


def _lease(r: aiosqlite.Row) -> Lease:
    return Lease(
        name=r["name"], holder=r["holder"], holder_info=r["holder_info"],
        shard_count=r["shard_count"], term=r["term"],
        acquired_at=parse_stamp(r["acquired_at"]), renewed_at=parse_stamp(r["renewed_at"]),
        expires_at=parse_stamp(r["expires_at"]))


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    start: Step
    stop: Step
    wake: Callable[[], None] | None = None


async def _call(step: Step) -> None:
    result = step()
    if inspect.isawaitable(result):
        await result


def process_description(shards: str) -> str:
    """Who a lease holder is, for people reading `db stats` or the log."""
    return f"pid {os.getpid()} on {socket.gethostname()}, shards {shards}"


class Leadership:
    """This process's side of the lease, and the background work it runs while it holds it."""

    def __init__(self, database: Database, *, info: str, shard_count: int | None = None,
                 alone: bool = True, clock: Callable[[], datetime] | None = None,
                 timing: LeaseTiming | None = None) -> None:
        self._db = database
        self.leases = LeaseRepository(database)
        self.token = secrets.token_hex(8)
        self.info = info
        self.shard_count = shard_count
        self.alone = alone
        self._clock = clock or (lambda: datetime.now(UTC))
        self.timing = timing or LeaseTiming()
        self.services: list[Service] = []
        self.leading = False
        self.lease: Lease | None = None  # as last written or seen
        self._valid_until: datetime | None = None  # leading: stop the work by then
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._data_version: int | None = None
        self._renew_failed = False

    # ---- the registry ----------------------------------------------------------------------

    def add(self, name: str, start: Step, stop: Step, *,
            wake: Callable[[], None] | None = None) -> None:
        """Background work, started (in the order added) while this process leads and stopped
        (in reverse) when it stops leading. Added again under one name, it replaces the
        first."""
        self.services = [s for s in self.services if s.name != name]
        self.services.append(Service(name, start, stop, wake))

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Try for the lease now (starting the work at once if it is free), then keep
        renewing it, or keep looking whether it lapsed, until `stop()`."""
        self._stopped = False
        await self.tick()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        """Stop the work (if leading) and give the lease up, so another process takes over
        at its next look instead of after the lease lapses."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._lock:
            if not self.leading:
                return
            await self._step_down("stopping")
            try:
                await self.leases.release(BACKGROUND, self.token, self._clock())
            except StoreError as exc:  # it lapses by itself
                log.warning("could not give the background work's lease up (%s); another "
                            "process takes over when it lapses", exc)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_look = loop.time() + self._next_look()
        while True:
            await asyncio.sleep(self.timing.wake_every)
            try:
                await self.check_lapse()
                if self.leading:
                    await self.wake_on_commits()
                if loop.time() >= next_look:
                    await self.tick()
                    next_look = loop.time() + self._next_look()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed round must not end the loop
                log.exception("leadership: a round failed; trying again")

    def _next_look(self) -> float:
        # A renewal that failed is tried again soon: the lease is running out.
        healthy = self.leading and not self._renew_failed
        return self.timing.renew_every if healthy else self.timing.follow_every

    async def check_lapse(self) -> None:
        """Stop the work if the lease may lapse before another renewal lands (the database
        refused the last ones): after that, another process may start it."""
        async with self._lock:
            if (self.leading and self._valid_until is not None
                    and self._clock() >= self._valid_until):
                await self._step_down("the lease could not be renewed in time")

    async def tick(self) -> bool:
        """One round: renew (leading) or try to take over (following). Returns whether this
        process leads afterwards."""
        async with self._lock:
            if self._stopped:
                return self.leading
            return await self._tick()

    async def _tick(self) -> bool:
        now = self._clock()
        if not self.leading and not self.alone:
            # A read first: the others look often, and most looks find a live lease.
            try:
                seen = await self.leases.current()
            except (StoreError, sqlite3.Error) as exc:
                log.debug("leadership: could not read the lease: %s", exc)
                return False
            if seen is not None and seen.holder != self.token and seen.live(now):
                self.lease = seen
                return False
        until = now + timedelta(seconds=self.timing.lease)
        try:
            lease = await self.leases.take(BACKGROUND, self.token, self.info, self.shard_count,
                                           now, until, force=self.alone)
        except StoreError as exc:
            if self.leading and self._valid_until is not None and now >= self._valid_until:
                await self._step_down(f"the lease could not be renewed ({exc})")
            elif self.leading:
                self._renew_failed = True
                log.warning("could not renew the background work's lease (%s); trying again",
                            exc)
            else:
                log.debug("leadership: could not write the lease: %s", exc)
            return self.leading
        if lease is None:
            if self.leading:
                await self._step_down("another process took the lease over")
            with contextlib.suppress(StoreError, sqlite3.Error):
                self.lease = await self.leases.current()
            return False
        self.lease = lease
        self._renew_failed = False
        self._valid_until = until - timedelta(seconds=self.timing.stop_margin)
        if not self.leading:
            await self._take_up(lease)
        return True

    async def _take_up(self, lease: Lease) -> None:
        self.leading = True
        self._data_version = None
        log.info("this process runs the background work now (%s; lease term %d): %s",
                 self.info, lease.term, ", ".join(s.name for s in self.services) or "none")
        for service in self.services:
            try:
                await _call(service.start)
            except Exception:
                log.exception("could not start %s", service.name)

    async def _step_down(self, why: str) -> None:
        self.leading = False
        self._valid_until = None
        if why == "stopping":
            log.info("stopping the background work")
        else:
            log.warning("this process stops running the background work: %s", why)
        for service in reversed(self.services):
            try:
                await _call(service.stop)
            except Exception:
                log.exception("could not stop %s", service.name)

    async def wake_on_commits(self) -> None:
        """Wake the work that asks for it when another process has committed since the last
        look (say, a `/news post` answered there)."""
        version = await self._db.data_version()
        if self._data_version is not None and version != self._data_version:
            for service in self.services:
                if service.wake is not None:
                    service.wake()
        self._data_version = version


def shard_count_conflict(lease: Lease | None, shard_count: int | None,
                         now: datetime) -> str | None:
    """Why a process sharded with `shard_count` must not join the processes already serving
    this database, or None. Processes splitting one bot into shards must agree on their
    number, or some servers would be served twice and others never."""
    if lease is None or not lease.live(now) or lease.shard_count is None:
        return None
    if shard_count == lease.shard_count:
        return None
    return (f"SHARD_COUNT is {shard_count} here, but the process running this database's "
            f"background work ({lease.holder_info}) has SHARD_COUNT={lease.shard_count}. Give "
            "every process serving one database the same SHARD_COUNT.")


def describe_lease(lease: Lease | None, now: datetime) -> str:
    """Who runs the background work, in one line for status displays (`/news status`,
    `db stats`, doctor)."""
    if lease is None:
        return "no process has run it yet"
    if not lease.live(now):
        return (f"nobody now: the lease lapsed {_ago(now - lease.expires_at)} ago (last held "
                f"by {lease.holder_info})")
    return (f"{lease.holder_info} (since {_ago(now - lease.acquired_at)} ago, renewed "
            f"{_ago(now - lease.renewed_at)} ago)")


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
