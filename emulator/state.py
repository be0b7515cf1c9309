"""The emulated Discord's world: guilds, channels, users, messages, and their wire payloads.

Everything the bot can learn (GUILD_CREATE, REST reads, interaction payloads) is built from this
one store, so the gateway view and the REST view of a channel can never drift apart.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, Snowflakes
from .config import ChannelSpec, EmulatorConfig, GuildSpec, MemberSpec, RoleSpec, UserSpec
from .permissions import Perm, channel_permissions

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")

MESSAGE_FLAG_CROSSPOSTED = 1 << 0
MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7


@dataclass
class DMChannel:
    id: int
    user_id: int
    type: int = 1


@dataclass
class StoredMessage:
    payload: dict[str, Any]
    ephemeral: bool = False
    interaction_id: int | None = None
    allowed_mentions: dict[str, Any] | None = None
    deleted: bool = False
    created_at: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])


class World:
    def __init__(self, config: EmulatorConfig, clock: Clock, ids: Snowflakes) -> None:
        self.config = config
        self.clock = clock
        self.ids = ids
        self.guilds: dict[int, GuildSpec] = {g.id: copy.deepcopy(g) for g in config.guilds}
        self.users: dict[int, UserSpec] = {}
        for u in [config.bot, config.owner, *config.users]:
            self.users[u.id] = u
        for g in self.guilds.values():
            for m in g.members:
                self.users.setdefault(m.user.id, m.user)
            self._ensure_bot_member(g)
        self.dm_channels: dict[int, DMChannel] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.channel_log: dict[int, list[int]] = {}

    @property
    def bot(self) -> UserSpec:
        return self.config.bot

    def _ensure_bot_member(self, guild: GuildSpec) -> None:
        if any(m.user.id == self.bot.id for m in guild.members):
            return
        role = RoleSpec(
            self.ids.next(), self.bot.username, guild.bot_permissions, position=1, managed=True
        )
        guild.roles.append(role)
        guild.members.append(MemberSpec(self.bot, roles=[role.id]))

    def add_guild(self, guild: GuildSpec) -> GuildSpec:
        guild = copy.deepcopy(guild)
        self.guilds[guild.id] = guild
        for m in guild.members:
            self.users.setdefault(m.user.id, m.user)
        self._ensure_bot_member(guild)
        return guild

    # -- lookups --------------------------------------------------------------------------------

    def guild(self, guild_id: int) -> GuildSpec | None:
        return self.guilds.get(guild_id)

    def locate(self, channel_id: int) -> tuple[GuildSpec | None, ChannelSpec | DMChannel] | None:
        dm = self.dm_channels.get(channel_id)
        if dm is not None:
            return None, dm
        for g in self.guilds.values():
            for ch in g.channels:
                if ch.id == channel_id:
                    return g, ch
        return None

    def member(self, guild: GuildSpec, user_id: int) -> MemberSpec | None:
        for m in guild.members:
            if m.user.id == user_id:
                return m
        return None

    def permissions(self, guild: GuildSpec, channel: ChannelSpec, user_id: int) -> int:
        member = self.member(guild, user_id)
        if member is None:
            return 0
        return channel_permissions(guild, channel, member)

    def bot_permissions(self, guild: GuildSpec, channel: ChannelSpec) -> int:
        return self.permissions(guild, channel, self.bot.id)

    def dm_channel_for(self, user_id: int) -> DMChannel:
        for dm in self.dm_channels.values():
            if dm.user_id == user_id:
                return dm
        dm = DMChannel(self.ids.next(), user_id)
        self.dm_channels[dm.id] = dm
        return dm

    # -- payloads -------------------------------------------------------------------------------

    def user_payload(self, user: UserSpec) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(user.id),
            "username": user.username,
            "global_name": user.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        if user.bot:
            data["bot"] = True
        return data

    def me_payload(self) -> dict[str, Any]:
        data = self.user_payload(self.bot)
        data.update(verified=True, mfa_enabled=False, email=None, locale="en-US", bot=True)
        return data

    def role_payload(self, role: RoleSpec) -> dict[str, Any]:
        return {
            "id": str(role.id),
            "name": role.name,
            "permissions": str(role.permissions),
            "position": role.position,
            "color": role.color,
            "colors": {
                "primary_color": role.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": role.hoist,
            "managed": role.managed,
            "mentionable": role.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def everyone_role(self, guild: GuildSpec) -> RoleSpec:
        return RoleSpec(guild.id, "@everyone", guild.everyone_permissions, position=0)

    def all_roles(self, guild: GuildSpec) -> list[RoleSpec]:
        return [self.everyone_role(guild), *guild.roles]

    def find_role(self, guild: GuildSpec, role_id: int) -> RoleSpec | None:
        for r in self.all_roles(guild):
            if r.id == role_id:
                return r
        return None

    def member_payload(
        self, guild: GuildSpec, member: MemberSpec, *, user: bool = True
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in member.roles],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": "2023-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if user:
            data["user"] = self.user_payload(member.user)
        return data

    def channel_payload(
        self, guild: GuildSpec | None, channel: ChannelSpec | DMChannel
    ) -> dict[str, Any]:
        if isinstance(channel, DMChannel):
            return {
                "id": str(channel.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.user_payload(self.users[channel.user_id])],
            }
        assert guild is not None
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(guild.id),
            "name": channel.name,
            "topic": channel.topic,
            "position": channel.position,
            "parent_id": str(channel.parent_id) if channel.parent_id else None,
            "nsfw": channel.nsfw,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
            "permission_overwrites": [
                {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}
                for o in channel.overwrites
            ],
        }

    def guild_payload(self, guild: GuildSpec, *, full: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [self.role_payload(r) for r in self.all_roles(guild)],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }
        if full:
            data.update(
                joined_at="2023-01-01T00:00:00+00:00",
                large=False,
                unavailable=False,
                # Must equal len(members) or discord.py requests member chunks.
                member_count=len(guild.members),
                members=[self.member_payload(guild, m) for m in guild.members],
                channels=[self.channel_payload(guild, c) for c in guild.channels],
                threads=[],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return data

    # -- messages -------------------------------------------------------------------------------

    def pings(
        self,
        guild: GuildSpec | None,
        channel: ChannelSpec | DMChannel,
        content: str,
        allowed_mentions: dict[str, Any] | None,
    ) -> tuple[list[int], list[int], bool]:
        """(users, roles, everyone) that would actually be notified, by Discord's rules."""
        am = (
            allowed_mentions
            if allowed_mentions is not None
            else {"parse": ["users", "roles", "everyone"]}
        )
        parse = am.get("parse") or []
        users = [int(u) for u in _USER_MENTION.findall(content or "")]
        roles = [int(r) for r in _ROLE_MENTION.findall(content or "")]
        if "users" not in parse:
            allowed = {int(u) for u in am.get("users") or []}
            users = [u for u in users if u in allowed]
        if "roles" not in parse:
            allowed = {int(r) for r in am.get("roles") or []}
            roles = [r for r in roles if r in allowed]
        can_everyone = False
        if guild is not None and isinstance(channel, ChannelSpec):
            can_everyone = bool(self.bot_permissions(guild, channel) & Perm.MENTION_EVERYONE)
            known = {r.id: r for r in guild.roles}
            roles = [r for r in roles if r in known and (known[r].mentionable or can_everyone)]
        else:
            roles = []
        everyone = (
            "everyone" in parse
            and can_everyone
            and ("@everyone" in (content or "") or "@here" in (content or ""))
        )
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone

    def build_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        *,
        message_type: int = 0,
        flags: int = 0,
        attachments: list[dict[str, Any]] | None = None,
        author: UserSpec | None = None,
        extra: dict[str, Any] | None = None,
    ) -> StoredMessage:
        located = self.locate(channel_id)
        guild, channel = located if located else (None, None)
        author = author or self.bot
        content = body.get("content") or ""
        am = body.get("allowed_mentions")
        users, roles, everyone = (
            self.pings(guild, channel, content, am) if channel is not None else ([], [], False)
        )
        payload: dict[str, Any] = {
            "id": str(self.ids.next()),
            "channel_id": str(channel_id),
            "author": self.user_payload(author),
            "content": content,
            "timestamp": self.clock.iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": everyone,
            "mentions": [self.user_payload(self.users[u]) for u in users if u in self.users],
            "mention_roles": [str(r) for r in roles],
            "attachments": attachments or [],
            "embeds": [_normalize_embed(e) for e in body.get("embeds") or []],
            "components": body.get("components") or [],
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": flags | int(body.get("flags") or 0),
        }
        if guild is not None:
            payload["guild_id"] = str(guild.id)
        if body.get("nonce") is not None:
            payload["nonce"] = body["nonce"]
        if body.get("message_reference"):
            payload["message_reference"] = body["message_reference"]
            payload["type"] = 19
        if extra:
            payload.update(extra)
        msg = StoredMessage(payload, allowed_mentions=am, created_at=self.clock.now())
        msg.ephemeral = bool(payload["flags"] & MESSAGE_FLAG_EPHEMERAL)
        self.messages[msg.id] = msg
        if not msg.ephemeral:
            self.channel_log.setdefault(channel_id, []).append(msg.id)
        return msg

    def edit_message(self, msg: StoredMessage, body: dict[str, Any], *, attachments=None) -> None:
        msg.history.append(copy.deepcopy(msg.payload))
        p = msg.payload
        if "content" in body:
            p["content"] = body["content"] or ""
        if "embeds" in body:
            p["embeds"] = [_normalize_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            p["components"] = body["components"] or []
        if "flags" in body and body["flags"] is not None:
            keep = p["flags"] & (MESSAGE_FLAG_EPHEMERAL | MESSAGE_FLAG_CROSSPOSTED)
            p["flags"] = (int(body["flags"]) | keep) & ~MESSAGE_FLAG_LOADING
        else:
            p["flags"] &= ~MESSAGE_FLAG_LOADING
        if attachments is not None:
            p["attachments"] = attachments
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        located = self.locate(msg.channel_id)
        if located is not None:
            users, roles, everyone = self.pings(*located, p["content"], msg.allowed_mentions)
            p["mentions"] = [self.user_payload(self.users[u]) for u in users if u in self.users]
            p["mention_roles"] = [str(r) for r in roles]
            p["mention_everyone"] = everyone
        p["edited_timestamp"] = self.clock.iso()

    def delete_message(self, msg: StoredMessage) -> None:
        msg.deleted = True
        log = self.channel_log.get(msg.channel_id)
        if log and msg.id in log:
            log.remove(msg.id)

    def visible_messages(self, channel_id: int) -> list[StoredMessage]:
        return [self.messages[i] for i in self.channel_log.get(channel_id, [])]


def _normalize_embed(embed: dict[str, Any]) -> dict[str, Any]:
    data = dict(embed)
    data.setdefault("type", "rich")
    return data
