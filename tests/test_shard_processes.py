"""Shard slices as real processes on one database: the one running the background work is
killed with SIGKILL in the middle of a news fan-out, the other takes the work over within 30
seconds, and every channel ends up with exactly one copy.

Both bots are `python -m bot run` child processes (SHARD_COUNT=2, SHARD_IDS=0 and 1) against the
emulator running in the test process; the kill comes from inside the emulator's handler for a
message, after storing it and before answering, so the killed process never learns it was sent
(the worst moment, as in benchmarks/crash.py).

Waits are liveness guards; the one bound on time is the issue's own: the takeover within 30 s.
"""

from __future__ import annotations

import asyncio
import time
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
from benchmarks.processes import READY_MARK, ChildBot, child_env, heartstopper_argv
from benchmarks.workspace import many_guilds
from bot.core.database import Database
from bot.core.leadership import BACKGROUND, LeaseRepository
from emulator import EmulatorConfig
from emulator.testing import running_emulator

LEADS = "this process runs the background work now"
READY_TIMEOUT = 60.0
TAKEOVER_LIMIT = 30.0  # the bound


async def _lease_holder(db_path: Path) -> str | None:
    database = await Database.open(db_path, create=False)
    try:
        lease = await LeaseRepository(database).current(BACKGROUND)
    finally:
        await database.close()
    return None if lease is None else lease.holder_info


async def test_the_other_slice_takes_over_a_killed_leader_mid_fan_out(tmp_path: Path) -> None:
    config = many_guilds(40, 10)  # 400 channels: about 9 s at the default pace
    config.shard_count = 2
    channels = news_channels(config)
    db_path = tmp_path / "shards.db"
    await prepare_database(db_path, channels, config.owner.id)
    # steady_emulator: after hundreds of tests this process's heap is large, and a full
    # garbage collection pass stalls the emulator (Discord, here) long enough to bunch the
    # bot's paced sends into its per-second window and answer 429 for a stall of its own.
    with steady_emulator():
        await _fan_out_and_kill(config, channels, db_path)


async def _fan_out_and_kill(config: EmulatorConfig, channels: list[tuple[int, int]],
                            db_path: Path) -> None:
    async with running_emulator(config) as emu:
        def env(shard: int) -> dict[str, str]:
            return child_env(emu, db_path, DEV_GUILD_ID=str(config.guilds[0].id),
                             SHARD_COUNT="2", SHARD_IDS=str(shard))

        first = await ChildBot(heartstopper_argv(), env(0)).start()
        second: ChildBot | None = None
        try:
            await first.wait_for(LEADS, READY_TIMEOUT)
            await first.wait_for(READY_MARK, READY_TIMEOUT)
            # A serving process takes what start-up built out of the collector's full passes.
            await first.wait_for("start-up objects frozen out of garbage collection", 10)
            second = await ChildBot(heartstopper_argv(), env(1)).start()
            await second.wait_for(READY_MARK, READY_TIMEOUT)
            assert second.seen(LEADS) is None
            assert (await _lease_holder(db_path) or "").startswith(f"pid {first.pid} on ")
            # Each process identified with its own shard only.
            sessions = sorted((s.shard_id, s.shard_count) for s in emu.gateway.sessions.values())
            assert sessions == [(0, 2), (1, 2)]

            killed_at: list[float] = []
            third = len(channels) // 3

            def kill_a_third_in(event: str, data: dict[str, Any]) -> None:
                if (event == "MESSAGE_CREATE" and not killed_at
                        and emu.stats.messages_created >= third):
                    first.kill()
                    killed_at.append(time.perf_counter())

            emu.gateway.listeners.append(kill_a_third_in)
            await post_news(emu, "Premiere night")
            reached = await wait_delivered(emu, len(channels), until=third, limit=60)
            assert reached, (emu.stats.messages_created, first.tail(20), second.tail(20))
            assert first.proc is not None
            await asyncio.wait_for(first.proc.wait(), 10)
            emu.gateway.listeners.remove(kill_a_third_in)
            at_kill = emu.stats.messages_created
            assert at_kill < len(channels) * 0.9  # killed mid fan-out, not after it

            await second.wait_for(LEADS, TAKEOVER_LIMIT + 10)
            took = second.seen(LEADS)
            assert took is not None
            # Seconds from the kill to the second process's log line saying it took over.
            takeover = second.started + took - killed_at[0]
            assert takeover < TAKEOVER_LIMIT, takeover
            assert (await _lease_holder(db_path) or "").startswith(f"pid {second.pid} on ")

            complete = await wait_delivered(emu, len(channels), limit=120)
            await asyncio.sleep(1.0)  # anything still in flight shows up now
            result = tally(emu, channels)
            assert complete, result
            assert result.lost == 0 and result.duplicates == 0, result
            assert emu.stats.messages_created == len(channels)
            limited = [(r.time, r.method, r.path, r.error_code)
                       for r in emu.requests if r.status == 429]
            assert result.rate_limited == 0, (limited, second.tail(40))
        finally:
            first.kill()
            await first.stop()
            if second is not None:
                await second.stop()
