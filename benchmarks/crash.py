"""Crash during fan-out: the bot process is killed with SIGKILL as the emulator stores the
message that makes half the channels served (before the bot hears back), then started again
on the same database; every channel must end up with the item exactly once.

The engine marks a delivery in flight in the store before sending it, with a nonce; after a
crash those rows are sent again with the same nonce and Discord (here the emulator) answers
with the message already created instead of a second one. The figures show both halves: how
many re-sends the nonce absorbed, and how many messages each channel finally holds.
"""

from __future__ import annotations

import asyncio
import tempfile
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
from benchmarks.figures import Figure, Section
from benchmarks.processes import READY_MARK, ChildBot, child_env, heartstopper_argv
from benchmarks.workspace import many_guilds
from bot.core.config import DEFAULT_NEWS_SENDS_PER_SECOND
from bot.store import Store
from emulator.testing import running_emulator

READY_TIMEOUT = 60.0


async def _states(db_path: Path) -> dict[str, int]:
    """Delivery states as the killed process left them on disk."""
    async with await Store.open(db_path) as store:
        return dict((await store.news.status()).deliveries)


async def run(*, guilds: int, channels_per_guild: int, work_dir: Path | None = None) -> Section:
    section = Section("crash", "SIGKILL halfway through a fan-out, then restart")
    started = time.perf_counter()
    pace = DEFAULT_NEWS_SENDS_PER_SECOND
    config = many_guilds(guilds, channels_per_guild)
    channels = news_channels(config)
    details: dict[str, Any] = {"channels": len(channels), "pace": pace}
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        db_path = Path(folder) / "crash.db"
        await prepare_database(db_path, channels, config.owner.id)
        async with running_emulator(config) as emu:
            with steady_emulator():
                env = child_env(emu, db_path, DEV_GUILD_ID=str(config.guilds[0].id))
                first = await ChildBot(heartstopper_argv(), env).start()
                half = len(channels) // 2

                def kill_at_half(event: str, data: dict[str, Any]) -> None:
                    # Runs inside the emulator's handler for the half-th message, after storing it
                    # and before answering: the worst moment, as the bot never learns it was sent.
                    if event == "MESSAGE_CREATE" and emu.stats.messages_created >= half:
                        first.kill()

                try:
                    await first.wait_for(READY_MARK, READY_TIMEOUT)
                    emu.gateway.listeners.append(kill_at_half)
                    await post_news(emu, "Crash benchmark")
                    reached = await wait_delivered(emu, len(channels), until=half,
                                                   limit=len(channels) / pace + 60)
                    await asyncio.wait_for(first.proc.wait(), 10)  # type: ignore[union-attr]
                    emu.gateway.listeners.remove(kill_at_half)
                    details["delivered_at_kill"] = emu.stats.messages_created
                    details["half_reached"] = reached
                finally:
                    await first.stop()
                details["states_after_kill"] = await _states(db_path)
                await asyncio.sleep(0.2)  # in-flight requests of the dead process land (or not)
                details["delivered_before_restart"] = emu.stats.messages_created
                second = await ChildBot(heartstopper_argv(), env).start()
                try:
                    details["restart_ready_seconds"] = await second.wait_for(READY_MARK,
                                                                             READY_TIMEOUT)
                    restarted = time.perf_counter()
                    details["complete"] = await wait_delivered(
                        emu, len(channels), limit=len(channels) / pace * 2 + 60)
                    details["restart_to_last_delivery_seconds"] = time.perf_counter() - restarted
                    await asyncio.sleep(1.0)  # whatever is still in flight shows up now
                finally:
                    await second.stop()
            result = tally(emu, channels)
            details.update(result.as_json())
    section.details = details
    exactly_once = result.lost == 0 and result.duplicates == 0
    section.add(
        Figure(f"channels ({guilds:,} servers)", len(channels)),
        Figure("delivered when the bot was killed", details["delivered_at_kill"]),
        Figure("left in flight by the killed process (state 'sending')",
               details["states_after_kill"].get("sending", 0)),
        Figure("re-sends answered by nonce (no second message)", result.nonce_resends),
        Figure("restart to ready", details["restart_ready_seconds"], "s"),
        Figure("lost", result.lost, "", "0", result.lost == 0),
        Figure("duplicates", result.duplicates, "", "0", result.duplicates == 0),
        Figure("every delivery made exactly once", "yes" if exactly_once else "NO", "", "yes",
               exactly_once),
    )
    section.seconds = time.perf_counter() - started
    return section
