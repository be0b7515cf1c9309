"""Channel following: follower webhooks, and Discord's own fan-out of published messages.

`POST /channels/{id}/followers` makes a target channel follow an announcement channel: Discord
creates a webhook of type 2 ("Channel Follower") in the target, named after the source
("Server #channel"). Every message later published (crossposted) in the source is copied into
each following channel as a message of that webhook, flagged IS_CROSSPOST, with a
message_reference to the original; the copies cost the publisher no requests. Deleting the
webhook ends the follow. Creating or deleting one fires WEBHOOKS_UPDATE (GUILD_WEBHOOKS intent).

Copies are made in the background, a chunk at a time, as Discord does them after answering the
crosspost: the emulator's loop keeps serving requests while 100,000 copies are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .config import ChannelSpec, GuildSpec
from .errors import ApiError, missing_access, missing_permissions, unknown
from .gateway import INTENT_GUILD_MESSAGES
from .permissions import Perm, base_permissions
from .rest import RouteTable, body_of, no_content, ok, snowflake_param, validate
from .state import DMChannel, StoredMessage

if TYPE_CHECKING:
    from .server import Emulator

INTENT_GUILD_WEBHOOKS = 1 << 5
WEBHOOK_INCOMING = 1
WEBHOOK_CHANNEL_FOLLOWER = 2
MESSAGE_FLAG_IS_CROSSPOST = 1 << 1
# Discord's limit per channel since 2023 (400, code 30007 beyond it).
MAX_CHANNEL_WEBHOOKS = 15
COPY_CHUNK = 500  # copies written between two turns of the emulator's loop


@dataclass
class Webhook:
    id: int
    type: int
    guild_id: int
    channel_id: int
    name: str
    user_id: int | None  # who created it (the bot, or a server admin by hand)
    source_guild_id: int | None = None
    source_guild_name: str | None = None
    source_channel_id: int | None = None
    source_channel_name: str | None = None


class Webhooks:
    """Every webhook the emulated Discord holds, indexed by id, by channel and by the channel
    they follow."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world
        self.by_id: dict[int, Webhook] = {}
        self.by_channel: dict[int, dict[int, Webhook]] = {}
        self.followers: dict[int, dict[int, Webhook]] = {}  # source channel -> its followers
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0  # copies promised by crossposts and not yet written

    # -- the world ------------------------------------------------------------------------------

    def in_channel(self, channel_id: int) -> list[Webhook]:
        return list(self.by_channel.get(channel_id, {}).values())

    def following(self, source_channel_id: int) -> list[Webhook]:
        return list(self.followers.get(source_channel_id, {}).values())

    def add_follower(self, source_guild: GuildSpec, source: ChannelSpec, target_guild: GuildSpec,
                     target: ChannelSpec, *, user_id: int | None) -> Webhook:
        """Create the follower webhook, without any checks (tests and benchmarks set up many
        follows this way; the REST route checks first)."""
        hook = Webhook(
            id=self.world.ids.next(), type=WEBHOOK_CHANNEL_FOLLOWER, guild_id=target_guild.id,
            channel_id=target.id, name=f"{source_guild.name} #{source.name}", user_id=user_id,
            source_guild_id=source_guild.id, source_guild_name=source_guild.name,
            source_channel_id=source.id, source_channel_name=source.name,
        )
        self.by_id[hook.id] = hook
        self.by_channel.setdefault(target.id, {})[hook.id] = hook
        self.followers.setdefault(source.id, {})[hook.id] = hook
        return hook

    def remove(self, hook: Webhook) -> None:
        self.by_id.pop(hook.id, None)
        self.by_channel.get(hook.channel_id, {}).pop(hook.id, None)
        if hook.source_channel_id is not None:
            self.followers.get(hook.source_channel_id, {}).pop(hook.id, None)

    async def follow(self, source_channel_id: int, target_channel_id: int, *,
                     user: Any = None, notify: bool = True) -> Webhook:
        """A server admin makes a channel follow an announcement channel by hand (Discord's
        Follow button): no bot request involved. `user` defaults to the target's owner."""
        (sg, source), (tg, target) = (self._guild_channel(source_channel_id),
                                      self._guild_channel(target_channel_id))
        uid = self.emu.factory.find_user(user).id if user is not None else tg.owner_id
        hook = self.add_follower(sg, source, tg, target, user_id=uid)
        if notify:
            await self._changed(tg.id, target.id)
        return hook

    async def delete_by_hand(self, webhook_id: int, *, notify: bool = True) -> None:
        """A server admin deletes the webhook in the channel's settings (Integrations). With
        notify=False no WEBHOOKS_UPDATE is sent: as if it happened while the bot was away."""
        hook = self.by_id[webhook_id]
        self.remove(hook)
        if notify:
            await self._changed(hook.guild_id, hook.channel_id)

    def _guild_channel(self, channel_id: int) -> tuple[GuildSpec, ChannelSpec]:
        located = self.world.locate(channel_id)
        if located is None or located[0] is None or not isinstance(located[1], ChannelSpec):
            raise KeyError(f"no guild channel {channel_id}")
        return located[0], located[1]

    async def _changed(self, guild_id: int, channel_id: int) -> None:
        await self.emu.gateway.dispatch(
            "WEBHOOKS_UPDATE", {"guild_id": str(guild_id), "channel_id": str(channel_id)},
            guild_id=guild_id, intent=INTENT_GUILD_WEBHOOKS,
        )

    def payload(self, hook: Webhook) -> dict[str, Any]:
        user = self.world.users.get(hook.user_id) if hook.user_id is not None else None
        data: dict[str, Any] = {
            "id": str(hook.id),
            "type": hook.type,
            "guild_id": str(hook.guild_id),
            "channel_id": str(hook.channel_id),
            "name": hook.name,
            "avatar": None,
            "application_id": None,
        }
        if user is not None:
            data["user"] = self.world.user_payload(user)
        if hook.type == WEBHOOK_CHANNEL_FOLLOWER:
            data["source_guild"] = {"id": str(hook.source_guild_id), "name":
                                    hook.source_guild_name, "icon": None}
            data["source_channel"] = {"id": str(hook.source_channel_id),
                                      "name": hook.source_channel_name}
        return data

    # -- Discord's fan-out ----------------------------------------------------------------------

    @property
    def copies_pending(self) -> int:
        """Copies of published messages not yet written into following channels."""
        return self._pending

    def crossposted(self, message: StoredMessage) -> None:
        """A message was published in its channel: copy it to every follower, soon."""
        hooks = self.following(message.channel_id)
        if not hooks:
            return
        self._pending += len(hooks)
        task = asyncio.get_running_loop().create_task(self._copy(message, hooks))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _copy(self, original: StoredMessage, hooks: Iterable[Webhook]) -> None:
        source = original.payload
        reference = {"channel_id": source["channel_id"], "message_id": source["id"]}
        if "guild_id" in source:
            reference["guild_id"] = source["guild_id"]
        tell_bot = any(s.intents & INTENT_GUILD_MESSAGES
                       for s in self.emu.gateway.active_sessions())
        written = 0
        channels: dict[int, set[int]] = {}  # guild id -> its channels, read once per publish
        for hook in hooks:
            try:
                if hook.id not in self.by_id:  # unfollowed since the publish
                    continue
                guild = self.world.guilds.get(hook.guild_id)
                if guild is not None:
                    if guild.id not in channels:
                        channels[guild.id] = {c.id for c in guild.channels}
                    if hook.channel_id not in channels[guild.id]:
                        self.remove(hook)  # the channel was deleted, its webhooks with it
                        continue
                copy = self._copy_of(source, hook, reference)
                self.world.messages[copy.id] = copy
                self.world.channel_log.setdefault(hook.channel_id, []).append(copy.id)
                self.emu.stats.follower_copies += 1
                if tell_bot:
                    await self.emu.gateway.dispatch("MESSAGE_CREATE", copy.payload,
                                                    guild_id=hook.guild_id,
                                                    intent=INTENT_GUILD_MESSAGES)
            finally:
                self._pending -= 1
            written += 1
            if written % COPY_CHUNK == 0:
                await asyncio.sleep(0)

    def _copy_of(self, source: dict[str, Any], hook: Webhook,
                 reference: dict[str, str]) -> StoredMessage:
        payload: dict[str, Any] = {
            "id": str(self.world.ids.next()),
            "channel_id": str(hook.channel_id),
            "guild_id": str(hook.guild_id),
            "webhook_id": str(hook.id),
            # Shown as the webhook, named after the source server and channel.
            "author": {"id": str(hook.id), "username": hook.name, "global_name": None,
                       "discriminator": "0000", "avatar": None, "bot": True,
                       "public_flags": 0, "flags": 0},
            "content": source.get("content") or "",
            "timestamp": self.emu.clock.iso(),
            "edited_timestamp": None,
            "tts": False,
            # Copies ping nobody in the following server: its roles are not the source's.
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": list(source.get("attachments") or []),
            "embeds": list(source.get("embeds") or []),
            "components": [],
            "reactions": [],
            "pinned": False,
            "type": 0,
            "flags": MESSAGE_FLAG_IS_CROSSPOST,
            "message_reference": dict(reference),
        }
        return StoredMessage(payload, created_at=self.emu.clock.now())

    async def settled(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until every copy promised so far is written."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self._pending:
            if loop.time() > end:
                raise TimeoutError(f"{self._pending} follower copies still pending")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)


class WebhookRoutes:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world
        self.hooks = emu.webhooks

    def register(self, table: RouteTable) -> None:
        table.add("POST", "/channels/{channel_id}/followers", self.follow, validates=True)
        table.add("GET", "/channels/{channel_id}/webhooks", self.channel_webhooks)
        table.add("GET", "/guilds/{guild_id}/webhooks", self.guild_webhooks)
        table.add("GET", "/webhooks/{webhook_id}", self.get)
        table.add("DELETE", "/webhooks/{webhook_id}", self.delete)

    def _guild_channel(self, channel_id: int) -> tuple[GuildSpec, ChannelSpec]:
        located = self.world.locate(channel_id)
        if located is None:
            raise unknown(10003, "Channel")
        guild, channel = located
        if guild is None or isinstance(channel, DMChannel):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return guild, channel

    def _require(self, guild: GuildSpec, channel: ChannelSpec, *needed: int) -> None:
        perms = self.world.bot_permissions(guild, channel)
        if not perms & Perm.VIEW_CHANNEL:
            raise missing_access()
        for bit in needed:
            if not perms & bit:
                raise missing_permissions()

    def _hook(self, request: web.Request) -> Webhook:
        wid = snowflake_param(request, "webhook_id", 10015, "Webhook")
        hook = self.hooks.by_id.get(wid)
        if hook is None:
            raise unknown(10015, "Webhook")
        return hook

    async def follow(self, request: web.Request) -> web.Response:
        source_guild, source = self._guild_channel(
            snowflake_param(request, "channel_id", 10003, "Channel"))
        if self.world.member(source_guild, self.world.bot.id) is not None:
            self._require(source_guild, source)
        body = body_of(request)
        validate(request)
        try:
            target_id = int(body["webhook_channel_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, 50035, "Invalid Form Body", errors={"webhook_channel_id": {
                "_errors": [{"code": "BASE_TYPE_REQUIRED",
                             "message": "This field is required"}]}}) from None
        target_guild, target = self._guild_channel(target_id)
        # Manage Webhooks in the target: the follow is a webhook created there.
        self._require(target_guild, target, Perm.MANAGE_WEBHOOKS)
        if source.type != 5 or target.type not in (0, 5):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if len(self.hooks.in_channel(target.id)) >= MAX_CHANNEL_WEBHOOKS:
            raise ApiError(400, 30007,
                           f"Maximum number of webhooks reached ({MAX_CHANNEL_WEBHOOKS})")
        hook = self.hooks.add_follower(source_guild, source, target_guild, target,
                                       user_id=self.world.bot.id)
        await self.hooks._changed(target_guild.id, target.id)
        return ok({"channel_id": str(source.id), "webhook_id": str(hook.id)})

    async def channel_webhooks(self, request: web.Request) -> web.Response:
        guild, channel = self._guild_channel(
            snowflake_param(request, "channel_id", 10003, "Channel"))
        self._require(guild, channel, Perm.MANAGE_WEBHOOKS)
        return ok([self.hooks.payload(h) for h in self.hooks.in_channel(channel.id)])

    async def guild_webhooks(self, request: web.Request) -> web.Response:
        gid = snowflake_param(request, "guild_id", 10004, "Guild")
        guild = self.world.guild(gid)
        if guild is None:
            raise unknown(10004, "Guild")
        member = self.world.member(guild, self.world.bot.id)
        if member is None or not base_permissions(guild, member) & Perm.MANAGE_WEBHOOKS:
            raise missing_permissions()
        return ok([self.hooks.payload(h) for h in self.hooks.by_id.values()
                   if h.guild_id == guild.id])

    def _located(self, hook: Webhook) -> tuple[GuildSpec, ChannelSpec]:
        located = self.world.locate(hook.channel_id)
        if located is None or located[0] is None or not isinstance(located[1], ChannelSpec):
            # The channel is gone, and its webhooks with it.
            self.hooks.remove(hook)
            raise unknown(10015, "Webhook")
        return located[0], located[1]

    async def get(self, request: web.Request) -> web.Response:
        hook = self._hook(request)
        guild, channel = self._located(hook)
        self._require(guild, channel, Perm.MANAGE_WEBHOOKS)
        return ok(self.hooks.payload(hook))

    async def delete(self, request: web.Request) -> web.Response:
        hook = self._hook(request)
        guild, channel = self._located(hook)
        self._require(guild, channel, Perm.MANAGE_WEBHOOKS)
        self.hooks.remove(hook)
        await self.hooks._changed(guild.id, channel.id)
        return no_content()
