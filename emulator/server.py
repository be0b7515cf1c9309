"""The Emulator: one aiohttp server on 127.0.0.1 that is Discord's REST API and gateway.

It exists so the bot can be tested end to end with an unmodified discord.py client (login,
command sync, interactions, messages, rate limits, outages) without the internet, quickly
enough that every test can start its own.
"""

from __future__ import annotations

import asyncio
import copy
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .clock import Clock, Snowflakes
from .commands import CommandRegistry
from .config import ChannelSpec, EmulatorConfig, GuildSpec, Overwrite, UserSpec, default_config
from .driver import DriverMixin
from .errors import ApiError
from .faults import FaultSet
from .gateway import INTENT_GUILD_MESSAGES, Gateway
from .interactions import InteractionFactory
from .ratelimit import SlidingWindow
from .rest import API_PREFIX, EMULATOR, RecordedRequest, RouteTable, make_middleware
from .results import InteractionRecord, SentMessage
from .routes_commands import CommandRoutes
from .routes_core import CoreRoutes
from .routes_interactions import InteractionRoutes
from .routes_messages import MessageRoutes
from .routes_webhooks import WebhookRoutes, Webhooks
from .spec import SpecValidator, resolve_spec_path
from .state import World


@dataclass
class EmulatorStats:
    requests: int = 0
    rate_limited: int = 0  # global 429s
    publish_rate_limited: int = 0
    publishes: int = 0
    follower_copies: int = 0  # published messages copied into following channels
    nonce_duplicates: int = 0
    messages_created: int = 0
    invalid_form_bodies: int = 0  # 400/50035, from limits or spec
    spec_rejections: int = 0
    faults_injected: int = 0
    command_syncs: int = 0
    interactions: int = 0
    callbacks: int = 0
    late_callbacks: int = 0
    followups: int = 0
    gateway_connections: int = 0
    identifies: int = 0
    resumes: int = 0


class Emulator(DriverMixin):
    """Use as `async with Emulator(config) as emu:`; see bot.emulator.testing for wiring a
    discord.py client to it."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else default_config()
        self.clock = Clock()
        self.ids = Snowflakes(self.clock)
        self.world = World(self.config, self.clock, self.ids)
        self.commands = CommandRegistry(self.config.application_id, self.ids)
        self.faults = FaultSet()
        self.stats = EmulatorStats()
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.interactions: list[InteractionRecord] = []
        self.interactions_by_id: dict[int, InteractionRecord] = {}
        self.interaction_deadline = self.config.interaction_deadline
        self.global_limiter = SlidingWindow(
            self.clock, self.config.global_rate_limit, self.config.global_rate_window
        )
        spec_path = resolve_spec_path(self.config.spec_path)
        self.spec = SpecValidator(spec_path) if spec_path is not None else None
        self.gateway = Gateway(self)
        self.webhooks = Webhooks(self)  # follower webhooks and Discord's copies of publishes
        self.factory = InteractionFactory(self)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What discord.http.Route.BASE must be set to."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/gateway"

    def _build_app(self) -> web.Application:
        app = web.Application()
        app[EMULATOR] = self
        table = RouteTable(app)
        app.middlewares.append(make_middleware(self, table))
        app.router.add_get("/gateway", self.gateway.handle)
        CoreRoutes(self).register(table)
        CommandRoutes(self).register(table)
        InteractionRoutes(self).register(table)
        self.message_routes = MessageRoutes(self)
        self.message_routes.register(table)
        WebhookRoutes(self).register(table)

        async def not_found(request: web.Request) -> web.Response:
            raise web.HTTPNotFound()

        app.router.add_route("*", "/{tail:.*}", not_found)
        return app

    async def start(self) -> Emulator:
        if self._runner is not None:
            return self
        runner = web.AppRunner(
            self._build_app(), access_log=None, handle_signals=False, shutdown_timeout=0.25
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        site = web.SockSite(runner, sock)
        await site.start()
        self.port = sock.getsockname()[1]
        self._runner = runner
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        await self.webhooks.close()
        await self.gateway.close_all()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- inspection -----------------------------------------------------------------------------

    def channel_messages(self, channel_id: int) -> list[SentMessage]:
        """Messages visible in the channel, oldest first (ephemeral replies excluded)."""
        return [SentMessage(m) for m in self.world.visible_messages(channel_id)]

    def message(self, message_id: int) -> SentMessage:
        return SentMessage(self.world.messages[message_id])

    def dms(self, user_id: int) -> list[SentMessage]:
        for dm in self.world.dm_channels.values():
            if dm.user_id == user_id:
                return self.channel_messages(dm.id)
        return []

    def synced_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return self.commands.list(guild_id)

    def requests_to(self, method: str, path_template: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.route == path_template]

    def find_interaction(self, match_info: Any) -> InteractionRecord | None:
        raw = match_info.get("interaction_id")
        token = match_info.get("interaction_token") or match_info.get("webhook_token")
        if raw is not None:
            record = self.interactions_by_id.get(int(raw)) if raw.isdigit() else None
            return record if record is not None and record.token == token else None
        for record in reversed(self.interactions):
            if record.token == token:
                return record
        return None

    def note_interaction_error(self, match_info: Any, rec: RecordedRequest, err: ApiError) -> None:
        """Attach an error answer to the interaction it concerns, so the test's result shows
        why the bot's reply never appeared."""
        if "interaction_token" not in match_info and "webhook_token" not in match_info:
            return
        record = self.find_interaction(match_info)
        if record is not None:
            record.errors.append(
                {
                    "status": err.status,
                    "code": err.code,
                    "message": err.message,
                    "method": rec.method,
                    "path": rec.route,
                    "errors": err.errors,
                }
            )
            record.touch()

    @property
    def guilds(self) -> list[GuildSpec]:
        return list(self.world.guilds.values())

    def guild(self, index_or_id: int = 0) -> GuildSpec:
        if index_or_id in self.world.guilds:
            return self.world.guilds[index_or_id]
        return list(self.world.guilds.values())[index_or_id]

    # -- changing the world while the bot runs --------------------------------------------------

    async def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: int | None = None
    ) -> int:
        """Send any gateway event as-is (to the shard owning guild_id)."""
        return await self.gateway.dispatch(event, data, guild_id=guild_id)

    async def drop_gateway(self, *, code: int | None = None, shard_id: int | None = None) -> int:
        return await self.gateway.drop(code=code, shard_id=shard_id)

    async def wait_gateway_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.gateway.wait_connected(timeout)

    def _locate_guild_channel(self, channel_id: int) -> tuple[GuildSpec, ChannelSpec]:
        guild, channel = self.world.locate(channel_id) or (None, None)
        if guild is None:
            raise KeyError(f"no guild channel {channel_id}")
        assert isinstance(channel, ChannelSpec)
        return guild, channel

    async def set_overwrite(
        self,
        channel_id: int,
        target_id: int,
        *,
        allow: int = 0,
        deny: int = 0,
        target_type: int | None = None,
    ) -> None:
        """Set one permission overwrite (role or member) and tell the bot (CHANNEL_UPDATE)."""
        guild, channel = self._locate_guild_channel(channel_id)
        if target_type is None:
            is_role = target_id == guild.id or any(r.id == target_id for r in guild.roles)
            target_type = 0 if is_role else 1
        channel.overwrites = [o for o in channel.overwrites if o.id != target_id]
        if allow or deny:
            channel.overwrites.append(Overwrite(target_id, target_type, allow, deny))
        await self.gateway.dispatch(
            "CHANNEL_UPDATE", self.world.channel_payload(guild, channel), guild_id=guild.id
        )

    async def set_bot_permissions(self, channel_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """Grant or take away the bot's permissions in one channel (a member overwrite)."""
        await self.set_overwrite(
            channel_id, self.config.bot.id, allow=allow, deny=deny, target_type=1
        )

    async def add_channel(self, guild_id: int, channel: ChannelSpec) -> ChannelSpec:
        guild = self.world.guilds[guild_id]
        channel = copy.deepcopy(channel)
        guild.channels.append(channel)
        await self.gateway.dispatch(
            "CHANNEL_CREATE", self.world.channel_payload(guild, channel), guild_id=guild.id
        )
        return channel

    async def delete_channel(self, channel_id: int) -> None:
        guild, channel = self._locate_guild_channel(channel_id)
        payload = self.world.channel_payload(guild, channel)
        guild.channels.remove(channel)
        await self.gateway.dispatch("CHANNEL_DELETE", payload, guild_id=guild.id)

    async def add_guild(self, guild: GuildSpec) -> GuildSpec:
        """The bot joins a server (GUILD_CREATE)."""
        stored = self.world.add_guild(guild)
        await self.gateway.dispatch(
            "GUILD_CREATE", self.world.guild_payload(stored, full=True), guild_id=stored.id
        )
        return stored

    async def remove_guild(self, guild_id: int, *, unavailable: bool = False) -> None:
        """The bot is kicked (or, with unavailable=True, the guild has an outage)."""
        data: dict[str, Any] = {"id": str(guild_id)}
        if unavailable:
            data["unavailable"] = True
        else:
            self.world.guilds.pop(guild_id, None)
        await self.gateway.dispatch("GUILD_DELETE", data, guild_id=guild_id)

    async def user_message(self, channel_id: int, content: str, *, user: Any = None) -> SentMessage:
        """A human posts in a channel; the bot receives MESSAGE_CREATE (content hidden without
        the message-content intent, as on Discord, unless the bot is mentioned)."""
        located = self.world.locate(channel_id)
        if located is None:
            raise KeyError(f"no channel {channel_id}")
        guild, _ = located
        author: UserSpec = (
            self.factory.find_user(user)
            if user is not None
            else self.factory._default_invoker(guild)
            if guild
            else self.config.owner
        )
        stored = self.world.build_message(channel_id, {"content": content}, author=author)
        for session in self.gateway.active_sessions():
            if not session.owns(guild.id if guild else None):
                continue
            payload = dict(stored.payload)
            if guild is not None:
                member = self.world.member(guild, author.id)
                if member is not None:
                    payload["member"] = self.world.member_payload(guild, member, user=False)
            mentioned = (
                f"<@{self.config.bot.id}>" in content or f"<@!{self.config.bot.id}>" in content
            )
            if not session.intents & (1 << 15) and not mentioned:
                payload["content"] = ""
            intent = INTENT_GUILD_MESSAGES if guild else 1 << 12
            if session.intents & intent:
                await self.gateway._dispatch_to(session, "MESSAGE_CREATE", payload)
        return SentMessage(stored)

    async def wait_for_request(
        self,
        method: str,
        path_template: str,
        *,
        count: int = 1,
        timeout: float = 2.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Until the bot has made `count` such requests (for background work like feeds)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            found = self.requests_to(method, path_template)
            if len(found) >= count:
                return found
            if loop.time() >= end:
                raise TimeoutError(f"{len(found)}/{count} {method} {path_template} requests seen")
            await asyncio.sleep(0.01)
