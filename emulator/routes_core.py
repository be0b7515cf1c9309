"""Login, gateway discovery, and read-only guild/channel/user endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .config import ChannelSpec
from .errors import ApiError, missing_access, unknown
from .permissions import Perm, base_permissions
from .rest import RouteTable, body_of, ok, snowflake_param

if TYPE_CHECKING:
    from .server import Emulator


class CoreRoutes:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world

    def register(self, table: RouteTable) -> None:
        table.add("GET", "/users/@me", self.me)
        table.add("GET", "/users/@me/guilds", self.my_guilds)
        table.add("POST", "/users/@me/channels", self.open_dm)
        table.add("GET", "/users/{user_id}", self.user)
        table.add("GET", "/oauth2/applications/@me", self.application)
        table.add("GET", "/applications/@me", self.application)
        table.add("GET", "/gateway", self.gateway, auth=False)
        table.add("GET", "/gateway/bot", self.gateway_bot)
        table.add("GET", "/guilds/{guild_id}", self.guild)
        table.add("GET", "/guilds/{guild_id}/channels", self.guild_channels)
        table.add("GET", "/guilds/{guild_id}/roles", self.guild_roles)
        table.add("GET", "/guilds/{guild_id}/members/{user_id}", self.member)
        table.add("GET", "/channels/{channel_id}", self.channel)

    async def me(self, request: web.Request) -> web.Response:
        return ok(self.world.me_payload())

    async def my_guilds(self, request: web.Request) -> web.Response:
        return ok(
            [
                {
                    "id": str(g.id),
                    "name": g.name,
                    "icon": None,
                    "owner": False,
                    "permissions": str(self._guild_perms(g.id)),
                    "features": list(g.features),
                }
                for g in self.world.guilds.values()
            ]
        )

    def _guild_perms(self, guild_id: int) -> int:
        guild = self.world.guilds[guild_id]
        member = self.world.member(guild, self.world.bot.id)
        return base_permissions(guild, member) if member else 0

    async def user(self, request: web.Request) -> web.Response:
        uid = snowflake_param(request, "user_id", 10013, "User")
        user = self.world.users.get(uid)
        if user is None:
            raise unknown(10013, "User")
        return ok(self.world.user_payload(user))

    async def open_dm(self, request: web.Request) -> web.Response:
        body = body_of(request)
        recipient: Any = body.get("recipient_id")  # JSON, as sent: int() refuses the rest
        try:
            uid = int(recipient)
        except (TypeError, ValueError):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                errors={
                    "recipient_id": {
                        "_errors": [
                            {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}
                        ]
                    }
                },
            ) from None
        user = self.world.users.get(uid)
        if user is None:
            raise unknown(10013, "User")
        dm = self.world.dm_channel_for(uid)
        return ok(self.world.channel_payload(None, dm))

    async def application(self, request: web.Request) -> web.Response:
        cfg = self.emu.config
        return ok(
            {
                "id": str(cfg.application_id),
                "name": cfg.application_name,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": self.world.user_payload(cfg.owner),
                "team": None,
                "flags": cfg.application_flags,
                "rpc_origins": [],
                "redirect_uris": [],
                "tags": [],
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "approximate_guild_count": len(self.world.guilds),
                "bot": self.world.me_payload(),
                "integration_types_config": {"0": {}},
            }
        )

    async def gateway(self, request: web.Request) -> web.Response:
        return ok({"url": self.emu.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return ok(
            {
                "url": self.emu.gateway_url,
                "shards": self.emu.config.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    def _guild_or_error(self, request: web.Request):
        gid = snowflake_param(request, "guild_id", 10004, "Guild")
        guild = self.world.guild(gid)
        if guild is None:
            raise unknown(10004, "Guild")
        return guild

    async def guild(self, request: web.Request) -> web.Response:
        guild = self._guild_or_error(request)
        data = self.world.guild_payload(guild, full=False)
        if request.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return ok(data)

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild_or_error(request)
        return ok([self.world.channel_payload(guild, c) for c in guild.channels])

    async def guild_roles(self, request: web.Request) -> web.Response:
        guild = self._guild_or_error(request)
        return ok([self.world.role_payload(r) for r in self.world.all_roles(guild)])

    async def member(self, request: web.Request) -> web.Response:
        guild = self._guild_or_error(request)
        uid = snowflake_param(request, "user_id", 10013, "User")
        member = self.world.member(guild, uid)
        if member is None:
            raise unknown(10007, "Member")
        return ok(self.world.member_payload(guild, member))

    async def channel(self, request: web.Request) -> web.Response:
        cid = snowflake_param(request, "channel_id", 10003, "Channel")
        located = self.world.locate(cid)
        if located is None:
            raise unknown(10003, "Channel")
        guild, channel = located
        if (
            guild is not None
            and isinstance(channel, ChannelSpec)
            and not self.world.bot_permissions(guild, channel) & Perm.VIEW_CHANNEL
        ):
            raise missing_access()
        return ok(self.world.channel_payload(guild, channel))
