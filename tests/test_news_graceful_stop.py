"""Stopping `run` gracefully (SIGTERM, SIGINT) in the middle of a news fan-out: the real bot as
its own process, the local emulator, a real SQLite file. Sends in flight finish, what was
claimed but not sent goes back to the outbox, the process exits 0 within 10 seconds and says
how many deliveries it handed back; a restart completes the fan-out with exactly one copy per
channel. The log is in JSON (LOG_FORMAT=json) here: every line must parse."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

import pytest

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
from bot.core.runtime import loop_factory
from bot.store import Store
from emulator.testing import running_emulator

READY_TIMEOUT = 60.0
HANDED_BACK = re.compile(r"news engine stopped: (\d+) deliveries handed back to the outbox")


def json_lines(bot: ChildBot) -> list[dict[str, object]]:
    entries = []
    for _, line in bot.lines:
        entry = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        entries.append(entry)
    return entries


async def stop_with(bot: ChildBot, signum: int) -> tuple[int, float]:
    assert bot.proc is not None
    loop = asyncio.get_running_loop()
    started = loop.time()
    bot.proc.send_signal(signum)
    code = await asyncio.wait_for(bot.proc.wait(), 15)
    took = loop.time() - started
    await bot.stop()  # the stderr reader finishes
    return code, took


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_mid_fan_out_hands_back_the_rest_and_a_restart_sends_each_once(
        tmp_path: Path, signum: int) -> None:
    config = many_guilds(3, 100)
    channels = news_channels(config)
    assert len(channels) == 300
    db = tmp_path / "bot.db"
    await prepare_database(db, channels, config.owner.id)
    async with running_emulator(config) as emu:
        with steady_emulator():
            env = child_env(emu, db, DEV_GUILD_ID=str(config.guilds[0].id), LOG_FORMAT="json")
            first = await ChildBot(heartstopper_argv(), env).start()
            try:
                await first.wait_for(READY_MARK, READY_TIMEOUT)
                await post_news(emu, "Graceful stop")
                assert await wait_delivered(emu, len(channels), until=60, limit=60)
                code, took = await stop_with(first, signum)
            finally:
                await first.stop()
            assert code == 0, first.tail()
            assert took < 10.0
            entries = json_lines(first)
            [line] = [e for e in entries if HANDED_BACK.search(str(e["message"]))]
            handed_back = int(HANDED_BACK.search(str(line["message"])).group(1))  # type: ignore[union-attr]
            assert line["logger"] == "bot.news.engine" and line["level"] == "INFO"
            # The child ran on the loop EVENT_LOOP=auto picks: the signals above reached it.
            expected_loop = "asyncio" if loop_factory("auto") is None else "uvloop"
            assert any(str(e["message"]) == f"event loop: {expected_loop}"
                       for e in entries)
            sent_at_stop = emu.stats.messages_created
            assert sent_at_stop < len(channels)  # it did stop in the middle

            async with await Store.open(db) as store:
                states = (await store.news.status()).deliveries
            # Nothing left in flight: the claimed-but-unsent went back, the in-flight finished.
            assert states["sending"] == 0
            assert states["sent"] == sent_at_stop
            assert states["pending"] == len(channels) - sent_at_stop
            assert handed_back > 0

            second = await ChildBot(heartstopper_argv(), env).start()
            try:
                await second.wait_for(READY_MARK, READY_TIMEOUT)
                assert await wait_delivered(emu, len(channels), limit=60)
                await asyncio.sleep(0.5)  # anything doubled would show up now
                code, _ = await stop_with(second, signal.SIGTERM)
            finally:
                await second.stop()
            assert code == 0
            json_lines(second)
    result = tally(emu, channels)
    assert result.lost == 0 and result.duplicates == 0
    assert result.nonce_resends == 0  # handed back cleanly: nothing needed the nonce
