"""Building INTERACTION_CREATE payloads the way the Discord client would.

Options are typed from the commands the bot SYNCED, not from what the test hopes it synced:
an unknown command or option, a missing required option, a value of the wrong type or outside
the declared choices/bounds is something a real user could not send, so it raises
InvocationError instead of reaching the bot.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import ChannelSpec, GuildSpec, MemberSpec, RoleSpec, UserSpec
from .errors import InvocationError
from .permissions import DEFAULT_BOT, Perm
from .results import walk_components
from .state import DMChannel

if TYPE_CHECKING:
    from .results import InteractionResult
    from .server import Emulator

OPTION_TYPE_NAMES = {
    1: "subcommand",
    2: "subcommand group",
    3: "string",
    4: "integer",
    5: "boolean",
    6: "user",
    7: "channel",
    8: "role",
    9: "mentionable",
    10: "number",
    11: "attachment",
}


@dataclass
class Context:
    guild: GuildSpec | None
    channel: ChannelSpec | DMChannel
    user: UserSpec
    member: MemberSpec | None
    permissions: int
    locale: str = "en-US"
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)


class InteractionFactory:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world

    # -- who and where --------------------------------------------------------------------------

    def find_user(self, user: Any) -> UserSpec:
        world = self.world
        if isinstance(user, MemberSpec):
            user = user.user
        if isinstance(user, UserSpec):
            return world.users.get(user.id, user)
        if isinstance(user, str) and not user.isdigit():
            for u in world.users.values():
                if u.username == user:
                    return u
            raise InvocationError(f"no user named {user!r}")
        uid = int(getattr(user, "id", user))
        if uid not in world.users:
            raise InvocationError(f"unknown user id {uid}")
        return world.users[uid]

    def context(
        self,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: Any = None,
        dm: bool = False,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> Context:
        world = self.world
        if channel_id is not None:
            located = world.locate(channel_id)
            if located is None:
                raise InvocationError(f"unknown channel id {channel_id}")
            guild, channel = located
        elif dm:
            guild = None
            target = self.find_user(user) if user is not None else self._default_dm_user()
            channel = world.dm_channel_for(target.id)
        else:
            if guild_id is not None:
                guild = world.guild(guild_id)
                if guild is None:
                    raise InvocationError(f"unknown guild id {guild_id}")
            elif world.guilds:
                guild = next(iter(world.guilds.values()))
            else:
                raise InvocationError("no guild configured; pass dm=True for a DM invocation")
            texts = [c for c in guild.channels if c.type in (0, 5)]
            if not texts:
                raise InvocationError(f"guild {guild.name!r} has no text channel")
            channel = texts[0]
        if guild is None:
            assert isinstance(channel, DMChannel)
            u = world.users[channel.user_id]
            perms = permissions if permissions is not None else _DM_PERMISSIONS
            return Context(None, channel, u, None, perms, locale)
        assert isinstance(channel, ChannelSpec)
        u = self.find_user(user) if user is not None else self._default_invoker(guild)
        member = world.member(guild, u.id)
        if member is None:
            raise InvocationError(f"{u.username!r} is not a member of {guild.name!r}")
        perms = permissions if permissions is not None else world.permissions(guild, channel, u.id)
        if permissions is None and not perms & Perm.VIEW_CHANNEL:
            raise InvocationError(f"{u.username!r} cannot see #{channel.name}")
        return Context(guild, channel, u, member, perms, locale)

    def _default_invoker(self, guild: GuildSpec) -> UserSpec:
        if guild.default_invoker_id is not None:
            return self.world.users[guild.default_invoker_id]
        for m in guild.members:
            if m.user.id not in (self.world.bot.id, guild.owner_id) and not m.user.bot:
                return m.user
        return self.world.users[guild.owner_id]

    def _default_dm_user(self) -> UserSpec:
        cfg = self.emu.config
        return cfg.users[0] if cfg.users else cfg.owner

    # -- payload skeleton -----------------------------------------------------------------------

    def base_payload(self, ctx: Context, itype: int, data: dict[str, Any]) -> dict[str, Any]:
        world, cfg = self.world, self.emu.config
        iid = world.ids.next()
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(cfg.application_id),
            "type": itype,
            "data": data,
            "token": "emu-" + secrets.token_urlsafe(32),
            "version": 1,
            "locale": ctx.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": cfg.attachment_size_limit,
            "channel_id": str(ctx.channel.id),
            "channel": world.channel_payload(ctx.guild, ctx.channel),
        }
        if ctx.guild is not None:
            assert ctx.member is not None and isinstance(ctx.channel, ChannelSpec)
            member = world.member_payload(ctx.guild, ctx.member)
            member["permissions"] = str(ctx.permissions)
            payload.update(
                guild_id=str(ctx.guild.id),
                guild={
                    "id": str(ctx.guild.id),
                    "locale": "en-US",
                    "features": list(ctx.guild.features),
                },
                guild_locale="en-US",
                member=member,
                app_permissions=str(world.bot_permissions(ctx.guild, ctx.channel)),
                context=0,
                authorizing_integration_owners={"0": str(ctx.guild.id)},
            )
        else:
            payload.update(
                user=world.user_payload(ctx.user),
                app_permissions=str(_DM_PERMISSIONS),
                context=1,
                authorizing_integration_owners={"0": str(ctx.user.id)},
            )
        return payload

    # -- application commands -------------------------------------------------------------------

    def command(
        self,
        ctx: Context,
        command: str,
        options: dict[str, Any] | None,
        *,
        focused: str | None = None,
    ) -> dict[str, Any]:
        parts = command.strip().lstrip("/").split()
        if not parts:
            raise InvocationError("empty command name")
        guild_id = ctx.guild.id if ctx.guild else None
        registry = self.emu.commands
        cmd = registry.find(parts[0], guild_id)
        if cmd is None:
            raise InvocationError(
                f"unknown command /{parts[0]}; synced here: {registry.names(guild_id) or 'none'}"
            )
        self._check_visible(ctx, cmd)
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": cmd["type"]}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        node, container = cmd, data
        label = f"/{parts[0]}"
        for part in parts[1:]:
            sub = next(
                (o for o in node.get("options") or [] if o["name"] == part and o["type"] in (1, 2)),
                None,
            )
            if sub is None:
                subs = [o["name"] for o in node.get("options") or [] if o["type"] in (1, 2)]
                raise InvocationError(
                    f"{label} has no subcommand {part!r}; it has: {subs or 'none'}"
                )
            entry: dict[str, Any] = {"name": sub["name"], "type": sub["type"], "options": []}
            container.setdefault("options", []).append(entry)
            node, container = sub, entry
            label += f" {part}"
        declared = node.get("options") or []
        if any(o["type"] in (1, 2) for o in declared):
            subs = [o["name"] for o in declared]
            raise InvocationError(f"{label} needs a subcommand: {subs}")
        values = dict(options or {})
        if focused is not None:
            if focused not in {o["name"] for o in declared}:
                raise InvocationError(f"{label} has no option {focused!r} to focus")
            values.setdefault(focused, "")
        by_name = {o["name"]: o for o in declared}
        built = []
        for name, value in values.items():
            opt = by_name.get(name)
            if opt is None:
                raise InvocationError(
                    f"{label} has no option {name!r}; options: {list(by_name) or 'none'}"
                )
            if name == focused:
                if not opt.get("autocomplete"):
                    raise InvocationError(f"option {name!r} of {label} has no autocomplete")
                built.append(
                    {"name": name, "type": opt["type"], "value": str(value), "focused": True}
                )
            else:
                built.append(
                    {
                        "name": name,
                        "type": opt["type"],
                        "value": self._convert(ctx, label, opt, value),
                    }
                )
        if focused is None:
            missing = [o["name"] for o in declared if o.get("required") and o["name"] not in values]
            if missing:
                raise InvocationError(f"{label} is missing required option(s) {missing}")
        container["options"] = built
        if ctx.resolved:
            data["resolved"] = ctx.resolved
        return data

    def _check_visible(self, ctx: Context, cmd: dict[str, Any]) -> None:
        contexts = cmd.get("contexts")
        where = 0 if ctx.guild is not None else 1
        if contexts is not None and where not in contexts:
            raise InvocationError(
                f"/{cmd['name']} is not available in {'guilds' if where == 0 else 'DMs'}"
            )
        if ctx.guild is None and cmd.get("dm_permission") is False:
            raise InvocationError(f"/{cmd['name']} is guild-only")
        required = cmd.get("default_member_permissions")
        if ctx.guild is not None and required is not None:
            need = int(required)
            if (ctx.permissions & need) != need and not ctx.permissions & Perm.ADMINISTRATOR:
                raise InvocationError(
                    f"{ctx.user.username!r} cannot see /{cmd['name']}: "
                    f"it requires permissions {need}"
                )

    def _convert(self, ctx: Context, label: str, opt: dict[str, Any], value: Any) -> Any:
        otype, name = opt["type"], opt["name"]
        where = f"option {name!r} of {label} ({OPTION_TYPE_NAMES.get(otype)})"

        def fail(why: str) -> InvocationError:
            return InvocationError(f"{where}: {why}, got {value!r}")

        if otype == 3:
            if not isinstance(value, str):
                raise fail("expected a string")
            if len(value) < int(opt.get("min_length") or 0):
                raise fail(f"shorter than min_length {opt.get('min_length')}")
            if opt.get("max_length") is not None and len(value) > int(opt["max_length"]):
                raise fail(f"longer than max_length {opt['max_length']}")
            if len(value) > 6000:
                raise fail("longer than Discord's 6000-character option limit")
        elif otype == 4:
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail("expected an integer")
        elif otype == 10:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail("expected a number")
        elif otype == 5:
            if not isinstance(value, bool):
                raise fail("expected a boolean")
        elif otype == 6:
            return self._resolve_user(ctx, fail, value)
        elif otype == 7:
            return self._resolve_channel(ctx, fail, opt, value)
        elif otype == 8:
            return self._resolve_role(ctx, fail, value)
        elif otype == 9:
            try:
                return self._resolve_role(ctx, fail, value)
            except InvocationError:
                return self._resolve_user(ctx, fail, value)
        elif otype == 11:
            return self._resolve_attachment(ctx, fail, value)
        if otype in (4, 10):
            lo, hi = opt.get("min_value"), opt.get("max_value")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise fail(f"outside [{lo}, {hi}]")
        choices = opt.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise fail(f"not one of the choices {[c['value'] for c in choices]}")
        return value

    def _resolve_user(self, ctx: Context, fail, value: Any) -> str:
        try:
            user = self.find_user(value)
        except InvocationError:
            raise fail("unknown user") from None
        ctx.resolved.setdefault("users", {})[str(user.id)] = self.world.user_payload(user)
        if ctx.guild is not None:
            member = self.world.member(ctx.guild, user.id)
            if member is not None:
                data = self.world.member_payload(ctx.guild, member, user=False)
                if isinstance(ctx.channel, ChannelSpec):
                    data["permissions"] = str(
                        self.world.permissions(ctx.guild, ctx.channel, user.id)
                    )
                ctx.resolved.setdefault("members", {})[str(user.id)] = data
        return str(user.id)

    def _resolve_channel(self, ctx: Context, fail, opt: dict[str, Any], value: Any) -> str:
        if ctx.guild is None:
            raise fail("channel options need a guild")
        target = None
        for ch in ctx.guild.channels:
            if ch.id == getattr(value, "id", value) or ch.name == value:
                target = ch
        if target is None:
            raise fail(f"no such channel in {ctx.guild.name!r}")
        allowed = opt.get("channel_types")
        if allowed and target.type not in allowed:
            raise fail(f"channel type {target.type} not in channel_types {allowed}")
        data = self.world.channel_payload(ctx.guild, target)
        data["permissions"] = str(self.world.permissions(ctx.guild, target, ctx.user.id))
        ctx.resolved.setdefault("channels", {})[str(target.id)] = data
        return str(target.id)

    def _resolve_role(self, ctx: Context, fail, value: Any) -> str:
        if ctx.guild is None:
            raise fail("role options need a guild")
        role: RoleSpec | None = None
        for r in self.world.all_roles(ctx.guild):
            if r.id == getattr(value, "id", value) or r.name == value:
                role = r
        if role is None:
            raise fail(f"no such role in {ctx.guild.name!r}")
        ctx.resolved.setdefault("roles", {})[str(role.id)] = self.world.role_payload(role)
        return str(role.id)

    def _resolve_attachment(self, ctx: Context, fail, value: Any) -> str:
        if isinstance(value, str):
            value = {"filename": value}
        if not isinstance(value, dict) or "filename" not in value:
            raise fail("expected a filename or {'filename': ..., 'size': ...}")
        aid = str(self.world.ids.next())
        url = f"{self.emu.base_url}/attachments/{aid}/{value['filename']}"
        ctx.resolved.setdefault("attachments", {})[aid] = {
            "id": aid,
            "filename": value["filename"],
            "size": int(value.get("size", 0)),
            "url": url,
            "proxy_url": url,
            "content_type": value.get("content_type"),
        }
        return aid

    # -- components and modals ------------------------------------------------------------------

    def component_data(
        self, ctx: Context, component: dict[str, Any], values: list[Any] | None
    ) -> dict[str, Any]:
        ctype = component["type"]
        data: dict[str, Any] = {"custom_id": component["custom_id"], "component_type": ctype}
        if ctype == 2:
            return data
        values = list(values or [])
        lo = component.get("min_values", 1)
        hi = component.get("max_values", 1)
        if not lo <= len(values) <= hi:
            raise InvocationError(
                f"select {component['custom_id']!r} takes {lo}-{hi} values, got {len(values)}"
            )
        if ctype == 3:
            offered = [o["value"] for o in component.get("options") or []]
            for v in values:
                if v not in offered:
                    raise InvocationError(
                        f"select {component['custom_id']!r} has no option {v!r}; options: {offered}"
                    )
            data["values"] = values
        else:
            data["values"] = [self._resolve_entity(ctx, component, v) for v in values]
            if ctx.resolved:
                data["resolved"] = ctx.resolved
        return data

    def _resolve_entity(self, ctx: Context, component: dict[str, Any], value: Any) -> str:
        """One pick from a user (5), role (6), mentionable (7) or channel (8) select."""

        def fail(why: str) -> InvocationError:
            return InvocationError(f"select {component['custom_id']!r}: {why}, got {value!r}")

        ctype = component["type"]
        if ctype == 8:
            opt = {"channel_types": component.get("channel_types")}
            return self._resolve_channel(ctx, fail, opt, value)
        if ctype == 6:
            return self._resolve_role(ctx, fail, value)
        if ctype == 7:
            try:
                return self._resolve_role(ctx, fail, value)
            except InvocationError:
                pass
        return self._resolve_user(ctx, fail, value)

    def modal_data(self, modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        remaining = dict(values)
        inputs: list[str | None] = []

        def fill(component: dict[str, Any]) -> dict[str, Any] | None:
            ctype = component.get("type")
            cid = component.get("custom_id")
            if ctype == 4:
                inputs.append(cid)
                value = remaining.pop(cid, None) if cid is not None else None
                if value is None:
                    if component.get("required", True):
                        raise InvocationError(
                            f"modal {modal.get('custom_id')!r}: text input {cid!r} is required"
                        )
                    value = ""
                if not isinstance(value, str):
                    raise InvocationError(f"modal text input {cid!r} takes a string, got {value!r}")
                lo, hi = component.get("min_length", 0), component.get("max_length", 4000)
                if value and not lo <= len(value) <= hi:
                    raise InvocationError(f"modal text input {cid!r}: length must be {lo}-{hi}")
                return {"type": 4, "custom_id": cid, "value": value, "id": component.get("id", 0)}
            if ctype in (3, 5, 6, 7, 8) and cid is not None:
                inputs.append(cid)
                chosen = remaining.pop(cid, [])
                return {
                    "type": ctype,
                    "custom_id": cid,
                    "values": list(chosen),
                    "id": component.get("id", 0),
                }
            return None

        out = []
        for top in modal.get("components") or []:
            if top.get("type") == 1:
                row = [c for c in (fill(c) for c in top.get("components") or []) if c is not None]
                out.append({"type": 1, "components": row, "id": top.get("id", 0)})
            elif top.get("type") == 18 and isinstance(top.get("component"), dict):
                inner = fill(top["component"])
                if inner is not None:
                    out.append({"type": 18, "id": top.get("id", 0), "component": inner})
        if remaining:
            raise InvocationError(
                f"modal {modal.get('custom_id')!r} has no inputs {list(remaining)}; "
                f"inputs: {inputs}"
            )
        return {"custom_id": modal.get("custom_id"), "components": out}


async def press_crafted(
    emu: Emulator,
    message: Any,
    custom_id: str,
    *,
    user: Any = None,
    channel_id: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 (how long to wait for the bot)
    settle: float | None = None,
) -> InteractionResult:
    """Press a button with a custom_id the test makes up: a forged request, which the Discord
    app never sends but a modified client can. For tests that a bot does not trust the ids in
    a custom_id (`emu.press` only presses buttons a message really has).

    The press claims to come from `message` (a result, a SentMessage, a payload or an id): its
    payload goes with the press as Discord's `message`, with `custom_id` put on the button that
    already has it or, failing that, on its first button (discord.py finds a DynamicItem's
    button on that message, and a plain view by the message's id). It is made by `user`
    (default: whoever caused the message) in `channel_id` (default: the message's channel),
    which may be in another server than the message.
    """
    stored = emu._resolve_message(message)
    claimed = copy.deepcopy(stored.payload)
    buttons = [c for c in walk_components(claimed.get("components") or [])
               if c.get("type") == 2 and "custom_id" in c]
    if not buttons:
        raise InvocationError(f"message {stored.id} has no button to put {custom_id!r} on")
    button = next((b for b in buttons if b["custom_id"] == custom_id), buttons[0])
    button["custom_id"] = custom_id
    button.pop("disabled", None)
    if user is None and stored.interaction_id is not None:
        origin = emu.interactions_by_id.get(stored.interaction_id)
        user = origin.user_id if origin else None
    ctx = emu.factory.context(channel_id=channel_id or stored.channel_id, user=user)
    payload = emu.factory.base_payload(ctx, 3, {"custom_id": custom_id, "component_type": 2})
    payload["message"] = claimed
    record = await emu._dispatch_interaction(payload, ctx, source=stored)
    return await emu._await_answer(record, timeout, settle)


# What a bot may do in a DM with a user: the same as a content bot's usual role in a server.
_DM_PERMISSIONS = DEFAULT_BOT
