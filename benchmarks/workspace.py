"""Throwaway places for a run: temporary databases, emulator layouts, settings."""

from __future__ import annotations

import math
from pathlib import Path

from bot.core.config import DEFAULT_SEED_DIR, Settings
from emulator import ChannelSpec, EmulatorConfig, GuildSpec, MemberSpec, UserSpec
from emulator.config import fixed_id

# Discord closes the gateway with 4011 (sharding required) above 2,500 guilds per shard.
GUILDS_PER_SHARD = 2500

# Id ranges for synthetic users, guilds and channels; far from default_config()'s small ids.
_USER_BASE = 1_000_000
_GUILD_BASE = 2_000_000
_CHANNEL_BASE = 10_000_000


def shards_for(guilds: int) -> int:
    return max(1, math.ceil(guilds / GUILDS_PER_SHARD))


def bot_settings(db_path: Path, **changes: object) -> Settings:
    return Settings(token=None, database_path=db_path, seed_dir=DEFAULT_SEED_DIR,
                    log_level="WARNING", **changes)  # type: ignore[arg-type]


def members(count: int) -> list[UserSpec]:
    """Distinct fans to invoke commands as, so per-member cooldowns never kick in."""
    return [UserSpec(fixed_id(_USER_BASE + i), f"fan{i}") for i in range(count)]


def add_members(config: EmulatorConfig, users: list[UserSpec]) -> None:
    for guild in config.guilds:
        guild.members.extend(MemberSpec(u) for u in users)


def many_guilds(guilds: int, channels_per_guild: int, **overrides: object) -> EmulatorConfig:
    """`guilds` servers with `channels_per_guild` text channels each, the bot allowed to post in
    all of them (the default bot role), owned by the application's owner; one shard per 2,500
    guilds recommended by GET /gateway/bot, as Discord requires."""
    config = EmulatorConfig(shard_count=shards_for(guilds), **overrides)  # type: ignore[arg-type]
    for g in range(guilds):
        channels = [
            ChannelSpec(fixed_id(_CHANNEL_BASE + g * channels_per_guild + c), f"channel-{c}", 0,
                        position=c)
            for c in range(channels_per_guild)
        ]
        config.guilds.append(GuildSpec(fixed_id(_GUILD_BASE + g), f"Server {g + 1}",
                                       config.owner.id, channels=channels,
                                       members=[MemberSpec(config.owner)]))
    return config
