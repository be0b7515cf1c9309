"""Application command sync (global and per guild), validated by Discord's naming and size rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .errors import FormErrors, missing_access
from .limits import check_command, check_command_list
from .rest import JSON_BODY, RouteTable, body_of, ok, snowflake_param, validate

if TYPE_CHECKING:
    from .server import Emulator


class CommandRoutes:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def register(self, table: RouteTable) -> None:
        for base in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            table.add("PUT", base, self.overwrite, validates=True)
            table.add("GET", base, self.list)
            table.add("POST", base, self.create, validates=True)

    def _scope(self, request: web.Request) -> int | None:
        app_id = snowflake_param(request, "application_id", 10002, "Application")
        if app_id != self.emu.config.application_id:
            raise missing_access()
        if "guild_id" not in request.match_info:
            return None
        gid = snowflake_param(request, "guild_id", 10004, "Guild")
        if self.emu.world.guild(gid) is None:
            # What Discord answers when the bot is not in the guild (or lacks the scope).
            raise missing_access()
        return gid

    async def overwrite(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        definitions = request.get(JSON_BODY) or []
        validate(request, check_command_list(definitions))
        self.emu.stats.command_syncs += 1
        return ok(self.emu.commands.overwrite(scope, definitions))

    async def list(self, request: web.Request) -> web.Response:
        return ok(self.emu.commands.list(self._scope(request)))

    async def create(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        definition = body_of(request)
        errs = FormErrors()
        check_command(errs, (), definition)
        validate(request, errs)
        return ok(self.emu.commands.upsert(scope, definition))
