"""Channel messages: create (with nonce de-duplication), read, edit, delete, publish.

Permission checks use the same overwrites the bot sees in its cache, so a bot that trusts
`permissions_for` and one that handles 403 are both testable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .config import ChannelSpec, GuildSpec
from .errors import ApiError, missing_access, missing_permissions, unknown
from .gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES
from .limits import check_message, is_empty_message
from .permissions import Perm
from .ratelimit import SlidingWindow, too_many_requests
from .rest import ATTACHMENTS, RouteTable, body_of, no_content, ok, snowflake_param, validate
from .state import MESSAGE_FLAG_CROSSPOSTED, DMChannel, StoredMessage

if TYPE_CHECKING:
    from .server import Emulator


def _as_read(msg: StoredMessage) -> dict[str, Any]:
    """A message as Discord returns it when read back: the nonce is only ever echoed in the
    create response and the gateway event, so a bot cannot find its posts by nonce later."""
    return {k: v for k, v in msg.payload.items() if k != "nonce"}


class MessageRoutes:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world
        cfg = emu.config
        self.publish_limiter = SlidingWindow(emu.clock, cfg.publish_limit, cfg.publish_window)
        # (channel_id, nonce) -> message id
        self._nonces: dict[tuple[int, str], int] = {}

    def register(self, table: RouteTable) -> None:
        base = "/channels/{channel_id}/messages"
        table.add("POST", base, self.create, validates=True)
        table.add("GET", base, self.history)
        table.add("GET", base + "/{message_id}", self.get)
        table.add("PATCH", base + "/{message_id}", self.edit, validates=True)
        table.add("DELETE", base + "/{message_id}", self.delete)
        table.add("POST", base + "/{message_id}/crosspost", self.crosspost)
        table.add("POST", "/channels/{channel_id}/typing", self.typing)

    # -- helpers --------------------------------------------------------------------------------

    def _channel(self, request: web.Request) -> tuple[GuildSpec | None, ChannelSpec | DMChannel]:
        cid = snowflake_param(request, "channel_id", 10003, "Channel")
        located = self.world.locate(cid)
        if located is None:
            raise unknown(10003, "Channel")
        return located

    def _require(self, guild: GuildSpec | None, channel, *needed: int) -> int:
        if guild is None:
            return -1
        perms = self.world.bot_permissions(guild, channel)
        if not perms & Perm.VIEW_CHANNEL:
            raise missing_access()
        for bit in needed:
            if not perms & bit:
                raise missing_permissions()
        return perms

    def _message(self, request: web.Request, channel_id: int) -> StoredMessage:
        mid = snowflake_param(request, "message_id", 10008, "Message")
        msg = self.world.messages.get(mid)
        if msg is None or msg.deleted or msg.channel_id != channel_id or msg.ephemeral:
            raise unknown(10008, "Message")
        return msg

    async def _dispatch(self, event: str, data: dict[str, Any], guild: GuildSpec | None) -> None:
        intent = INTENT_GUILD_MESSAGES if guild is not None else INTENT_DIRECT_MESSAGES
        await self.emu.gateway.dispatch(
            event, data, guild_id=guild.id if guild else None, intent=intent
        )

    # -- handlers -------------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        if isinstance(channel, DMChannel):
            user = self.world.users[channel.user_id]
            if not user.accepts_dms or user.bot:
                raise ApiError(403, 50007, "Cannot send messages to this user")
        else:
            self._require(guild, channel, Perm.SEND_MESSAGES)
        body = body_of(request)
        attachments = request.get(ATTACHMENTS) or []
        validate(request, check_message(body))
        if is_empty_message(body, len(attachments)):
            raise ApiError(400, 50006, "Cannot send an empty message")
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            key = (channel.id, str(nonce))
            existing = self.world.messages.get(self._nonces.get(key, 0))
            if (
                existing is not None
                and self.emu.clock.now() - existing.created_at < self.emu.config.nonce_window
            ):
                self.emu.stats.nonce_duplicates += 1
                return ok(existing.payload)
        msg = self.world.build_message(channel.id, body, attachments=attachments)
        if nonce is not None:
            self._nonces[(channel.id, str(nonce))] = msg.id
        self.emu.stats.messages_created += 1
        await self._dispatch("MESSAGE_CREATE", msg.payload, guild)
        return ok(msg.payload)

    async def history(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        perms = self._require(guild, channel)
        if perms != -1 and not perms & Perm.READ_MESSAGE_HISTORY:
            return ok([])
        try:
            limit = max(1, min(100, int(request.query.get("limit", 50))))
            before = int(request.query["before"]) if "before" in request.query else None
            after = int(request.query["after"]) if "after" in request.query else None
        except ValueError:
            raise ApiError(400, 50035, "Invalid Form Body") from None
        msgs = self.world.visible_messages(channel.id)
        if before is not None:
            msgs = [m for m in msgs if m.id < before]
        if after is not None:
            msgs = [m for m in msgs if m.id > after]
            msgs = msgs[:limit]
        else:
            msgs = msgs[-limit:]
        return ok([_as_read(m) for m in reversed(msgs)])

    async def get(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        self._require(guild, channel, Perm.READ_MESSAGE_HISTORY)
        return ok(_as_read(self._message(request, channel.id)))

    async def edit(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        self._require(guild, channel)
        msg = self._message(request, channel.id)
        if int(msg.payload["author"]["id"]) != self.world.bot.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = body_of(request)
        validate(request, check_message(body))
        self.world.edit_message(msg, body, attachments=request.get(ATTACHMENTS) or None)
        await self._dispatch("MESSAGE_UPDATE", msg.payload, guild)
        return ok(msg.payload)

    async def delete(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        perms = self._require(guild, channel)
        msg = self._message(request, channel.id)
        own = int(msg.payload["author"]["id"]) == self.world.bot.id
        if not own and perms != -1 and not perms & Perm.MANAGE_MESSAGES:
            raise missing_permissions()
        self.world.delete_message(msg)
        data = {"id": str(msg.id), "channel_id": str(channel.id)}
        if guild is not None:
            data["guild_id"] = str(guild.id)
        await self._dispatch("MESSAGE_DELETE", data, guild)
        return no_content()

    async def crosspost(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        if not isinstance(channel, ChannelSpec) or channel.type != 5:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        perms = self._require(guild, channel, Perm.SEND_MESSAGES)
        msg = self._message(request, channel.id)
        own = int(msg.payload["author"]["id"]) == self.world.bot.id
        if not own and not perms & Perm.MANAGE_MESSAGES:
            raise missing_permissions()
        if msg.payload["flags"] & MESSAGE_FLAG_CROSSPOSTED:
            raise ApiError(400, 40033, "This message has already been crossposted.")
        retry = self.publish_limiter.hit(channel.id)
        if retry is not None:
            self.emu.stats.publish_rate_limited += 1
            raise too_many_requests(retry, is_global=False, scope="shared")
        msg.payload["flags"] |= MESSAGE_FLAG_CROSSPOSTED
        self.emu.stats.publishes += 1
        self.emu.webhooks.crossposted(msg)  # Discord's copies to every following channel
        await self._dispatch("MESSAGE_UPDATE", msg.payload, guild)
        return ok(msg.payload)

    async def typing(self, request: web.Request) -> web.Response:
        guild, channel = self._channel(request)
        self._require(guild, channel, Perm.SEND_MESSAGES)
        return no_content()
