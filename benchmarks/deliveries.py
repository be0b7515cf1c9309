"""What the news benchmarks share: subscribing many channels, posting an item as the owner, and
reading back from the emulator what actually arrived where."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.figures import percentile
from bot.canon.seeding import load_seed
from bot.core.config import DEFAULT_SEED_DIR
from bot.store import Store
from emulator import Emulator, EmulatorConfig

MESSAGES_ROUTE = "/channels/{channel_id}/messages"


@contextlib.contextmanager
def steady_emulator() -> Iterator[None]:
    """The emulator stands in for Discord, whose pauses are not the bot's: freeze what exists
    (the emulated world) out of the garbage collector's full passes, which otherwise stall the
    emulator's loop for 100 ms or more, bunch the requests it then reads and skew its
    per-second rate limit."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def news_channels(config: EmulatorConfig) -> list[tuple[int, int]]:
    """(guild id, channel id) of every channel in the layout."""
    return [(g.id, c.id) for g in config.guilds for c in g.channels]


async def prepare_database(db_path: Path, channels: list[tuple[int, int]],
                           subscriber: int) -> None:
    """A fresh seeded store with every channel subscribed to news, through the store's own
    news repository (what `/news subscribe` does after its permission checks)."""
    async with await Store.open(db_path) as store:
        await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
        now = datetime.now(UTC)
        for guild_id, channel_id in channels:
            await store.news.subscribe(guild_id, channel_id, role_id=None, publish=False,
                                       subscribed_by=subscriber, now=now)


async def post_news(emu: Emulator, title: str) -> None:
    """The bot's owner runs `/news post` in the first server, as they would in Discord (the
    child bot syncs its commands there: DEV_GUILD_ID)."""
    owner = emu.config.owner
    result = await emu.invoke("news post", {"title": title, "body": "Benchmark item."},
                              guild_id=emu.config.guilds[0].id, user=owner, settle=0.0,
                              timeout=10.0)
    if result.errors or not result.answered or "Posted news" not in (result.content or ""):
        raise RuntimeError(f"/news post was not accepted: {result!r}")


async def wait_delivered(emu: Emulator, expected: int, *, limit: float, stalled: float = 30.0,
                         until: int | None = None) -> bool:
    """Until `until` (default: `expected`) messages were created; False after `limit` seconds
    or when nothing arrives for `stalled` seconds."""
    target = expected if until is None else until
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    last, last_change = -1, loop.time()
    while emu.stats.messages_created < target:
        now = loop.time()
        if emu.stats.messages_created != last:
            last, last_change = emu.stats.messages_created, now
        if now > end or now - last_change > stalled:
            return False
        await asyncio.sleep(0.02)
    return True


@dataclass
class Tally:
    channels: int
    delivered: int  # channels with at least one message
    lost: int  # channels with none
    duplicates: int  # messages beyond the first in a channel
    nonce_resends: int  # re-sends Discord answered with the first message (no duplicate)
    rate_limited: int  # global 429s
    sustained_rate: float  # messages per second over the middle 90% of the fan-out
    overall_rate: float  # first message to last
    longest_gap_ms: float
    p99_gap_ms: float

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def tally(emu: Emulator, channels: list[tuple[int, int]]) -> Tally:
    times: list[float] = []
    lost = duplicates = 0
    for _, channel_id in channels:
        messages = emu.world.visible_messages(channel_id)
        if not messages:
            lost += 1
        duplicates += max(0, len(messages) - 1)
        times.extend(m.created_at for m in messages)
    times.sort()
    overall = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    lo, hi = int(len(times) * 0.05), max(int(len(times) * 0.95) - 1, 0)
    sustained = ((hi - lo) / (times[hi] - times[lo])
                 if hi > lo and times[hi] > times[lo] else float("nan"))
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(times)]
    return Tally(
        channels=len(channels), delivered=len(channels) - lost, lost=lost,
        duplicates=duplicates, nonce_resends=emu.stats.nonce_duplicates,
        rate_limited=emu.stats.rate_limited, sustained_rate=sustained, overall_rate=overall,
        longest_gap_ms=max(gaps) if gaps else float("nan"),
        p99_gap_ms=percentile(gaps, 99) if gaps else float("nan"),
    )
