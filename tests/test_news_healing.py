"""News that heals itself: a store that refuses writes for a while, rows left in flight, and a
re-send long after Discord forgot the nonce. The real bot, the real discord.py client, the local
Discord emulator, real SQLite files, and a real second process holding the write lock.

Waits are liveness guards; the one bound on time is the issue's own: a lookup during the lock
answers within a second (Discord drops an interaction at 3).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.times import stamp
from emulator import ChannelSpec, Perm
from emulator.config import fixed_id
from tests.conftest import Harness
from tests.test_news_e2e import (
    MESSAGES,
    engine_of,
    news_messages,
    owner_draft,
    settled,
    subscribe_directly,
    until,
)

_HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA busy_timeout = 10000")
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


@asynccontextmanager
async def write_lock_held(path: Path, seconds: float) -> AsyncIterator[asyncio.Task[int]]:
    """Another process takes SQLite's write lock (BEGIN IMMEDIATE) and keeps it `seconds`.
    Yields once the lock is held; the task ends when the process has let go."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD_LOCK, str(path), str(seconds),
        stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"locked"
    waiting = asyncio.create_task(process.wait())
    try:
        yield waiting
    finally:
        if not waiting.done():
            await waiting


async def many_channels(h: Harness, per_guild: int, base: int) -> list[tuple[int, int]]:
    channels = []
    for g, guild in enumerate(h.emu.config.guilds):
        for i in range(per_guild):
            spec = ChannelSpec(fixed_id(base + g * 1000 + i), f"news-{i}", 0)
            await h.emu.add_channel(guild.id, spec)
            channels.append((g, spec.id))
    await until(lambda: all(h.bot.get_channel(c) for _, c in channels), "channels cached")
    for g, channel in channels:
        await subscribe_directly(h, channel, g)
    return channels


async def status_text(h: Harness) -> str:
    status = await h.emu.invoke("news status", guild_id=h.guild_id, user="owner")
    assert status.errors == []
    return str(status.embed)


async def test_a_write_lock_held_by_another_process_mid_fan_out_stalls_nothing(
        harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    channels = await many_channels(h, 100, 300_000)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: emu.stats.messages_created >= 40, "the fan-out is under way")

    async with write_lock_held(h.store.path, 20) as released:
        # Sends already in hand finish; their outcomes cannot be written and wait in memory.
        await until(lambda: engine_of(h).health().unrecorded > 0, "an outcome waits")
        loop = asyncio.get_running_loop()
        started = loop.time()
        card = await emu.invoke("character", {"name": "Nick Nelson"}, guild_id=h.guild_id)
        assert loop.time() - started < 1.0  # reads do not wait behind the blocked write
        assert card.errors == [] and card.embed["title"].startswith("Nick Nelson")
        quote = await emu.invoke("quote random", guild_id=h.guild_id)
        assert quote.errors == [] and quote.embed is not None  # shown; counted when it can be

        status = await status_text(h)
        assert "needs attention" in status and "the database is refusing writes" in status
        assert "Last database error" in status and "busy: database is locked" in status

        # A command that must write says so plainly, inside Discord's deadline.
        busy = await emu.invoke("spoilers", {"season": 2}, guild_id=h.guild_id,
                                user="moderator")
        assert busy.errors == [] and busy.ephemeral
        assert busy.content.startswith("My database is busy right now, so nothing was saved")
        sent_during_lock = emu.stats.messages_created
        assert not released.done()

    await until(lambda: settled(h), "every delivery finishes after the lock", within=60)
    assert emu.stats.messages_created == len(channels) > sent_during_lock
    assert all(len(news_messages(h, c)) == 1 for _, c in channels)
    assert (await h.store.news.status()).deliveries["sent"] == len(channels)
    assert emu.stats.rate_limited == 0
    health = engine_of(h).health()
    assert health.healthy and health.unrecorded == 0 and health.in_hand == 0
    assert "**healthy**" in await status_text(h)

    await engine_of(h).publish(owner_draft(2))
    await until(lambda: all(len(news_messages(h, c)) == 2 for _, c in channels),
                "the next post reaches every channel", within=60)
    assert emu.stats.messages_created == 2 * len(channels)


@pytest.mark.parametrize("error", ["database or disk is full", "disk I/O error"])
async def test_writes_failing_for_ten_seconds_mid_fan_out_lose_and_double_nothing(
        harness3: Harness, error: str) -> None:
    h, emu = harness3, harness3.emu
    channels = await many_channels(h, 100, 400_000)
    database = h.store.database
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: emu.stats.messages_created >= 40, "the fan-out is under way")

    database.write_fault = lambda: sqlite3.OperationalError(error)
    await until(lambda: engine_of(h).health().unrecorded > 0, "an outcome waits")
    await asyncio.sleep(10)
    stuck = emu.stats.messages_created
    assert stuck < len(channels)  # nothing could be claimed meanwhile
    kind = "full" if "full" in error else "io"
    assert f"{kind}: {error}" in await status_text(h)
    database.write_fault = None

    await until(lambda: settled(h), "every delivery finishes once writes work", within=60)
    assert all(len(news_messages(h, c)) == 1 for _, c in channels)
    assert emu.stats.messages_created == len(channels)
    assert engine_of(h).health().healthy
    await engine_of(h).publish(owner_draft(2))
    await until(lambda: all(len(news_messages(h, c)) == 2 for _, c in channels),
                "the next post reaches every channel", within=60)


async def _sent_and_made_to_look_unrecorded(h: Harness, channel: int) -> tuple[int, int]:
    """Post one item, then put its row back to 'sending' as a crash between Discord creating
    the message and the bot recording it would leave it. Returns (delivery id, message id)."""
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: settled(h), "the post is recorded")
    [message] = news_messages(h, channel)
    [delivery] = await h.store.news.deliveries()
    async with h.store.database.transaction() as db:
        await db.execute("UPDATE news_deliveries SET state = 'sending', message_id = NULL"
                         " WHERE id = ?", (delivery.id,))
    return delivery.id, message.id


async def hours_later_and_restarted(h: Harness, hours: float) -> None:
    """Time passes for Discord (its nonce memory is long gone) and for the bot, which restarts."""
    h.emu.clock.advance(hours * 3600)
    h.advance(hours=hours)
    await h.restart()


async def test_a_stuck_send_older_than_the_nonce_window_is_found_not_posted_again(
        harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    delivery_id, message_id = await _sent_and_made_to_look_unrecorded(h, general)
    await hours_later_and_restarted(h, 3)
    await until(lambda: settled(h), "the delivery is settled")
    assert len(news_messages(h, general)) == 1 and emu.stats.messages_created == 1
    [delivery] = await h.store.news.deliveries()
    assert delivery.id == delivery_id and delivery.state == "sent"
    assert delivery.message_id == message_id and delivery.unsure_since is None
    reads = len(emu.requests_to("GET", MESSAGES))
    assert reads > 0  # it read the channel back

    # A post whose outcome is known needs no reading back.
    await engine_of(h).publish(owner_draft(2))
    await until(lambda: len(news_messages(h, general)) == 2, "the next post")
    await until(lambda: settled(h), "recorded")
    assert len(emu.requests_to("GET", MESSAGES)) == reads


async def test_without_read_message_history_it_pauses_rather_than_guess(
        harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    _, message_id = await _sent_and_made_to_look_unrecorded(h, general)
    await emu.set_bot_permissions(general, deny=Perm.READ_MESSAGE_HISTORY)
    await hours_later_and_restarted(h, 3)

    moderator = emu.config.guilds[0].member("moderator").user.id

    async def paused() -> bool:
        sub = await h.store.news.subscription(general)
        return sub is not None and sub.state == "paused"

    await until(paused, "the subscription pauses")
    sub = await h.store.news.subscription(general)
    assert sub is not None and "Read Message History" in (sub.last_error or "")
    notices = [m for m in emu.channel_messages(general) if not m.embeds]
    assert len(notices) == 1 and "**Read Message History**" in notices[0].content
    assert emu.dms(moderator) == []  # told in the channel, where the bot can still speak
    assert len(news_messages(h, general)) == 1  # not posted again on a guess

    await emu.set_bot_permissions(general)  # fixed: the bot notices and checks at once
    await until(lambda: settled(h), "settled once it can read the channel")
    [delivery] = await h.store.news.deliveries()
    assert delivery.state == "sent" and delivery.message_id == message_id
    assert len(news_messages(h, general)) == 1


async def test_a_row_left_in_flight_by_a_dead_process_is_recovered_while_running(
        harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    sub = await subscribe_directly(h, general)
    item = (await h.store.news.publish(owner_draft(1), h.now)).item  # not woken: no send yet
    claimed = stamp(h.now - timedelta(minutes=10))
    async with h.store.database.transaction() as db:
        await db.execute(
            "UPDATE news_deliveries SET state = 'sending', claimed_by = 'gone',"
            " claimed_at = ?, attempts = 1 WHERE item_id = ? AND subscription_id = ?",
            (claimed, item.id, sub.id))
    engine = engine_of(h)
    engine.wake()
    await until(lambda: len(news_messages(h, general)) == 1, "recovered and posted", within=15)
    await until(lambda: settled(h), "recorded")
    assert emu.stats.messages_created == 1
    # Ten minutes unsure: past the nonce window, so it looked before posting.
    assert emu.requests_to("GET", MESSAGES) != []


async def test_a_timeout_after_discord_made_the_post_is_not_posted_twice_an_hour_later(
        harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    # Discord makes the post, but the answer is a 503: the bot cannot know it went out.
    emu.faults.server_error("POST", MESSAGES, status=503, times=1, after_effect=True)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: len(emu.channel_messages(general)) == 1, "the post exists")
    [delivery] = await h.store.news.deliveries()
    await until(lambda: _unsure(h), "the try is marked unsure")
    emu.clock.advance(3600)
    h.advance(hours=1)
    engine_of(h).wake()
    await until(lambda: settled(h), "settled")
    assert len(news_messages(h, general)) == 1
    [delivery] = await h.store.news.deliveries()
    assert delivery.state == "sent" and delivery.message_id is not None


async def _unsure(h: Harness) -> bool:
    [delivery] = await h.store.news.deliveries()
    return delivery.state == "pending" and delivery.unsure_since is not None
