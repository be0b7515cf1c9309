"""What the emulated Discord looks like before the bot connects.

Plain dataclasses so a test can build exactly the server layout it needs, or take
`default_config()` and tweak one field. IDs are real-looking snowflakes because discord.py
derives creation times from them and sharding routes guilds by `(guild_id >> 22) % shards`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .permissions import DEFAULT_BOT, DEFAULT_EVERYONE, DEFAULT_MODERATOR

DISCORD_EPOCH_MS = 1420070400000
# 2023-01-01T00:00:00Z: a fixed base keeps IDs stable between runs.
_BASE_MS = 1672531200000

DEFAULT_TOKEN = "emulator-bot-token"  # not a secret: only this emulator accepts it


def snowflake_at(ms: int, worker: int = 0, increment: int = 0) -> int:
    return ((ms - DISCORD_EPOCH_MS) << 22) | ((worker & 0x3FF) << 12) | (increment & 0xFFF)


def fixed_id(n: int) -> int:
    """Deterministic snowflake; consecutive `n` land on alternating shards when count is 2."""
    return snowflake_at(_BASE_MS + n)


DEFAULT_APPLICATION_ID = fixed_id(1)
DEFAULT_OWNER_ID = fixed_id(2)


@dataclass
class UserSpec:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    accepts_dms: bool = True  # False: sending a DM answers 403 50007 like a user who closed DMs


@dataclass
class RoleSpec:
    id: int
    name: str
    permissions: int = 0
    position: int = 1
    mentionable: bool = False
    color: int = 0
    hoist: bool = False
    managed: bool = False


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0


@dataclass
class ChannelSpec:
    id: int
    name: str
    type: int = 0  # 0 text, 5 announcement
    topic: str | None = None
    position: int = 0
    parent_id: int | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)


@dataclass
class MemberSpec:
    user: UserSpec
    roles: list[int] = field(default_factory=list)
    nick: str | None = None


@dataclass
class GuildSpec:
    id: int
    name: str
    owner_id: int
    channels: list[ChannelSpec] = field(default_factory=list)
    roles: list[RoleSpec] = field(default_factory=list)  # without @everyone (added from the id)
    members: list[MemberSpec] = field(default_factory=list)  # the bot is added if missing
    everyone_permissions: int = DEFAULT_EVERYONE
    bot_permissions: int = DEFAULT_BOT  # given to the bot's managed role when it is added
    features: list[str] = field(default_factory=list)
    default_invoker_id: int | None = None  # who runs commands when a test names nobody

    def channel(self, name_or_type: str | int) -> ChannelSpec:
        for ch in self.channels:
            if ch.name == name_or_type or ch.type == name_or_type:
                return ch
        raise KeyError(f"guild {self.name!r} has no channel {name_or_type!r}")

    def member(self, username: str) -> MemberSpec:
        for m in self.members:
            if m.user.username == username:
                return m
        raise KeyError(f"guild {self.name!r} has no member {username!r}")

    def role(self, name: str) -> RoleSpec:
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(f"guild {self.name!r} has no role {name!r}")


@dataclass
class EmulatorConfig:
    token: str = DEFAULT_TOKEN
    application_id: int = DEFAULT_APPLICATION_ID
    # Modern applications share their id with the bot user.
    bot: UserSpec = field(
        default_factory=lambda: UserSpec(DEFAULT_APPLICATION_ID, "EmulatedBot", bot=True)
    )
    owner: UserSpec = field(default_factory=lambda: UserSpec(DEFAULT_OWNER_ID, "owner"))
    guilds: list[GuildSpec] = field(default_factory=list)
    users: list[UserSpec] = field(default_factory=list)  # users outside every guild (DM targets)
    application_name: str = "Emulated App"
    application_flags: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    shard_count: int = 1  # what GET /gateway/bot recommends
    allowed_privileged_intents: int = 0  # as if toggled on in the developer portal
    heartbeat_interval_ms: int = 41250
    interaction_deadline: float = 3.0
    interaction_token_ttl: float = 15 * 60
    global_rate_limit: int = 50
    global_rate_window: float = 1.0
    publish_limit: int = 10
    publish_window: float = 3600.0
    nonce_window: float = 5 * 60
    attachment_size_limit: int = 10 * 1024 * 1024
    # "auto": ../shared/discord-api-spec/openapi.json next to the repo; None: no validation.
    spec_path: str | Path | None = "auto"
    answer_timeout: float = 2.0  # how long invoke()/press() wait for the bot
    settle: float = 0.05  # quiet time after an answer, to catch follow-ups and edits

    def guild(self, index_or_id: int = 0) -> GuildSpec:
        for g in self.guilds:
            if g.id == index_or_id:
                return g
        return self.guilds[index_or_id]


def default_config(guilds: int = 1, **overrides: Any) -> EmulatorConfig:
    """N guilds, each with #general (text), #announcements (announcement channel), the app
    owner as server owner, a moderator (Moderator role: manage server/messages/channels) and a
    plain member who runs commands by default."""
    cfg = EmulatorConfig(**overrides)
    moderator = UserSpec(fixed_id(3), "moderator")
    member = UserSpec(fixed_id(4), "member")
    cfg.users.extend([moderator, member])
    for i in range(guilds):
        gid = fixed_id(10_000 + i)
        base = 20_000 + i * 100
        mod_role = RoleSpec(fixed_id(base), "Moderator", DEFAULT_MODERATOR, position=2)
        cfg.guilds.append(
            GuildSpec(
                id=gid,
                name=f"Guild {i + 1}",
                owner_id=cfg.owner.id,
                channels=[
                    ChannelSpec(fixed_id(base + 1), "general", 0, position=0),
                    ChannelSpec(fixed_id(base + 2), "announcements", 5, position=1),
                ],
                roles=[mod_role],
                members=[
                    MemberSpec(cfg.owner),
                    MemberSpec(moderator, roles=[mod_role.id]),
                    MemberSpec(member),
                ],
                default_invoker_id=member.id,
            )
        )
    return cfg
