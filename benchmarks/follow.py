"""Follow mode (issue 20): one news item to thousands of channels that follow the bot's hub,
against the per-channel mode's fan-out in the same run.

The bot runs as its own process with NEWS_HUB_CHANNEL_ID set; the emulator plays Discord,
copying every message the hub publishes into each following channel (as a webhook message,
flagged IS_CROSSPOST). Every follower channel is set up as `/news subscribe mode:follow` leaves
it: a follower webhook made by the bot in the emulator, a follow-mode subscription in the
database. The owner then runs `/news post`, and the run waits until every follower has its copy.

What is measured: the bot's requests for the whole fan-out (the hub's post and its publish,
whatever the number of followers), the time from the post to the hub's publish (the bot's
part), and to the last copy (the emulator standing in for Discord: Discord's own fan-out time
is not something a local run can measure). The per-channel run posts the same item to as
many channels subscribed the default way, at the default pace.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import fanout
from benchmarks.deliveries import post_news, steady_emulator
from benchmarks.figures import Figure, Section
from benchmarks.processes import READY_MARK, ChildBot, child_env, heartstopper_argv
from benchmarks.workspace import many_guilds
from bot.canon.seeding import load_seed
from bot.core.config import DEFAULT_NEWS_SENDS_PER_SECOND, DEFAULT_SEED_DIR
from bot.core.times import stamp
from bot.store import Store
from emulator import ChannelSpec, Emulator, EmulatorConfig, GuildSpec, MemberSpec
from emulator.config import fixed_id
from emulator.routes_webhooks import MESSAGE_FLAG_IS_CROSSPOST
from emulator.testing import running_emulator

READY_TIMEOUT = 180.0
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
# Answering /news post itself (the owner check, the reply): not part of the fan-out.
COMMAND_ROUTES = (CALLBACK, "/oauth2/applications/@me")
HUB_GUILD = fixed_id(3_000_000)
HUB_CHANNEL = fixed_id(3_000_001)


def layout(channels: int) -> tuple[int, int]:
    """(servers, channels per server) holding `channels` channels: 10 a server up to 10,000,
    then 50 a server (2,000 servers for 100,000), one gateway shard either way."""
    per_guild = 10 if channels <= 10_000 else 50
    return math.ceil(channels / per_guild), per_guild


def hub_config(channels: int) -> EmulatorConfig:
    guilds, per_guild = layout(channels)
    config = many_guilds(guilds, per_guild)
    # The operator's own server, first: the owner posts there (commands sync to it).
    config.guilds.insert(0, GuildSpec(
        HUB_GUILD, "Heartstopper News HQ", config.owner.id,
        channels=[ChannelSpec(HUB_CHANNEL, "news-hub", 5)], members=[MemberSpec(config.owner)]))
    return config


def followers(config: EmulatorConfig, count: int) -> list[tuple[GuildSpec, ChannelSpec]]:
    found = [(g, c) for g in config.guilds[1:] for c in g.channels]
    return found[:count]


async def prepare(emu: Emulator, db_path: Path, targets: list[tuple[GuildSpec, ChannelSpec]],
                  owner: int) -> None:
    """What `/news subscribe mode:follow` leaves behind for every target, in bulk: the
    follower webhook (made by the bot) in Discord, the follow-mode subscription in the store
    (checked just now, so the daily check stays out of the measurement)."""
    hub_guild = emu.world.guilds[HUB_GUILD]
    hub = hub_guild.channels[0]
    hooks = [emu.webhooks.add_follower(hub_guild, hub, g, c, user_id=emu.config.bot.id)
             for g, c in targets]
    now = datetime.now(UTC)
    when = stamp(now)
    async with await Store.open(db_path) as store:
        await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
        await store.news.ensure_hub(HUB_GUILD, HUB_CHANNEL, now)
        # Benchmark tooling: the same rows the store's subscribe writes, in one transaction.
        async with store.database.transaction() as db:
            await db.executemany(
                "INSERT INTO news_subscriptions (guild_id, channel_id, role_id, publish, state,"
                " subscribed_by, created_at, updated_at, mode, webhook_id, follow_checked_at)"
                " VALUES (?, ?, NULL, 0, 'active', ?, ?, ?, 'follow', ?, ?)",
                [(g.id, c.id, owner, when, when, hook.id, when)
                 for (g, c), hook in zip(targets, hooks, strict=True)])


async def wait_copies(emu: Emulator, expected: int, *, limit: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while emu.stats.follower_copies < expected:
        if loop.time() > end:
            return False
        await asyncio.sleep(0.01)
    return True


async def follow_run(channels: int, folder: Path) -> dict[str, Any]:
    config = hub_config(channels)
    targets = followers(config, channels)
    db_path = folder / f"follow-{channels}.db"
    async with running_emulator(config) as emu:
        await prepare(emu, db_path, targets, config.owner.id)
        env = child_env(emu, db_path, NEWS_HUB_CHANNEL_ID=str(HUB_CHANNEL),
                        DEV_GUILD_ID=str(HUB_GUILD))
        bot = await ChildBot(heartstopper_argv(), env).start()
        try:
            await bot.wait_for(READY_MARK, READY_TIMEOUT)
            with steady_emulator():
                first_request = len(emu.requests)
                started = time.perf_counter()
                await post_news(emu, f"Follow mode to {channels:,} channels")
                complete = await wait_copies(emu, channels, limit=120 + channels / 1000)
                seconds = time.perf_counter() - started
                published_at = next(
                    (r.time for r in emu.requests[first_request:]
                     if r.route and r.route.endswith("/crosspost") and r.status == 200), None)
                posted_at = next((r.time for r in emu.requests[first_request:]
                                  if r.route == CALLBACK), None)
                await asyncio.sleep(1.0)  # anything the bot still sends would show now
        finally:
            await bot.stop()
        requests = Counter(f"{r.method} {r.route}" for r in emu.requests[first_request:]
                           if r.route not in COMMAND_ROUTES)
        per_channel = Counter(len([m for m in emu.world.visible_messages(c.id)
                                   if m.payload["flags"] & MESSAGE_FLAG_IS_CROSSPOST])
                              for _, c in targets)
        return {
            "channels": channels, "complete": complete, "seconds": seconds,
            "post_to_publish": (None if published_at is None or posted_at is None
                                else published_at - posted_at),
            "bot_requests": sum(requests.values()), "requests": dict(requests),
            "lost": per_channel.get(0, 0),
            "duplicates": sum((n - 1) * k for n, k in per_channel.items() if n > 1),
            "copies": emu.stats.follower_copies, "rate_limited": emu.stats.rate_limited,
        }


async def run(*, channels: list[int], compare: bool = True,
              work_dir: Path | None = None) -> Section:
    section = Section("follow", "Follow mode: one post to every channel following the hub")
    started = time.perf_counter()
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        for count in channels:
            runs[f"follow-{count}"] = result = await follow_run(count, Path(folder))
            _report_follow(section, result)
        if compare and channels:
            # The same item to as many channels subscribed the default way, at the default pace.
            size = channels[0]
            guilds, per_guild = layout(size)
            base = await fanout.fan_out(guilds=guilds, channels_per_guild=per_guild,
                                        pace=DEFAULT_NEWS_SENDS_PER_SECOND, folder=Path(folder))
            runs[f"per-channel-{size}"] = base
            _report_compare(section, base, runs[f"follow-{size}"], channels)
    section.details["runs"] = runs
    section.seconds = time.perf_counter() - started
    return section


def _report_follow(section: Section, r: dict[str, Any]) -> None:
    name = f"follow mode, {r['channels']:,} following channels"
    section.add(
        Figure(f"{name}: bot requests for the whole fan-out", r["bot_requests"], "",
               "2 (the hub's post and its publish)", r["bot_requests"] == 2),
        Figure(f"{name}: lost", r["lost"], "", "0", r["lost"] == 0 and r["complete"]),
        Figure(f"{name}: duplicates", r["duplicates"], "", "0", r["duplicates"] == 0),
        Figure(f"{name}: post to the hub's publish", r["post_to_publish"], "s"),
        Figure(f"{name}: post to the last copy (emulator's fan-out)", r["seconds"], "s"),
    )


def _report_compare(section: Section, base: dict[str, Any], follow: dict[str, Any],
                    channels: list[int]) -> None:
    size = base["channels"]
    name = f"per-channel mode, {size:,} channels at {base['pace']:g}/s"
    complete = base["complete"] and base["lost"] == 0 and base["duplicates"] == 0
    section.add(
        Figure(f"{name}: bot requests", size, "", "one per channel", None),
        Figure(f"{name}: post to last delivery", base["seconds"], "s", "", complete),
        # The follow-mode time ends with the emulator's copies, standing in for Discord's.
        Figure(f"{name}: time / follow mode's post to last copy",
               round(base["seconds"] / follow["seconds"], 1) if follow["seconds"] else None,
               "x"),
    )
    rate = base.get("sustained_rate") or base["pace"]
    for count in channels[1:]:
        section.add(Figure(f"per-channel mode, {count:,} channels (from the measured rate)",
                           round(count / rate), "s"))
