"""`heartstopper-bot doctor`: is this installation ready to serve? A checklist, one ✓ or ✗ line
per check, each failure with how to fix it; exit code 0 when everything passes, 1 otherwise.

It reads and never writes: Discord through REST only (no gateway connection, so it works while
the bot runs), the database through `db check`'s read-only connection.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from bot.core.config import Settings
from bot.core.database import Database, StoreError
from bot.core.maintenance import check_database
from bot.news.permissions import missing_post_permissions
from bot.store import Store

log = logging.getLogger(__name__)

PASS, FAIL, SKIP = "✓", "✗", "-"
# Subscriptions with a problem listed one by one; beyond this, a count.
MAX_LISTED = 20
PRIVILEGED_INTENTS = {
    # Intents attribute: (ApplicationFlags that allow it, the Developer Portal's name)
    "presences": (("gateway_presence", "gateway_presence_limited"), "Presence Intent"),
    "members": (("gateway_guild_members", "gateway_guild_members_limited"),
                "Server Members Intent"),
    "message_content": (("gateway_message_content", "gateway_message_content_limited"),
                        "Message Content Intent"),
}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def lines(self) -> list[str]:
        out = [f"{self.status} {self.name}: {self.detail}"]
        if self.fix:
            out.append(f"    fix: {self.fix}")
        return out


def config_error_check(error: Exception) -> Check:
    """A setting that cannot be parsed: the one line doctor can print."""
    return Check("Settings", FAIL, str(error),
                 "correct that setting in .env (or the environment; see .env.example), then "
                 "run `heartstopper-bot doctor` again")


# ---- settings and database ---------------------------------------------------------------------

def _folder_problem(folder: Path) -> str | None:
    try:
        if folder.exists():
            if not folder.is_dir():
                return f"BACKUP_DIR {folder} is a file, not a folder"
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"BACKUP_DIR {folder} is not writable by this user"
            return None
        parent = next((p for p in folder.parents if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK) or not parent.is_dir():
            return f"BACKUP_DIR {folder} does not exist and cannot be created by this user"
    except OSError as exc:
        return f"cannot look at BACKUP_DIR {folder} ({exc.strerror or exc})"
    return None


def check_settings(settings: Settings) -> Check:
    problems, fixes = [], []
    if not settings.token:
        problems.append("DISCORD_TOKEN is not set")
        fixes.append("put the bot token in .env as DISCORD_TOKEN (Developer Portal > Bot > "
                     "Reset Token)")
    if settings.backup_dir is not None:
        problem = _folder_problem(settings.backup_dir)
        if problem:
            problems.append(problem)
            fixes.append("create that folder, owned by the bot's user, or fix BACKUP_DIR")
    if problems:
        return Check("Settings", FAIL, "; ".join(problems), "; ".join(fixes))
    parts = [f"database {settings.database_path}",
             f"commands in server {settings.dev_guild_id} (DEV_GUILD_ID)"
             if settings.dev_guild_id else "global commands",
             f"backups in {settings.backup_dir}, keeping {settings.backup_keep}"
             if settings.backup_dir else "automatic backups off (BACKUP_DIR)",
             f"metrics on {settings.metrics_host}:{settings.metrics_port}"
             if settings.metrics_port else "metrics off (METRICS_PORT)"]
    return Check("Settings", PASS, ", ".join(parts))


async def check_database_file(settings: Settings) -> Check:
    path = settings.database_path
    restore = ("stop the bot and restore the latest good backup (check it first with "
               "`heartstopper-bot db check BACKUP`)")
    try:
        report = await check_database(path)
    except StoreError as exc:
        fix = ("start the bot once (or run `heartstopper-bot db init`) to create it, or "
               "correct DATABASE_PATH" if not path.exists() else "see the message")
        return Check("Database", FAIL, str(exc), fix)
    if report.damage:
        return Check("Database", FAIL, f"{path} is damaged ({report.damage[0]})", restore)
    if report.newer:
        return Check("Database", FAIL,
                     f"schema version {report.schema_version}, written by a newer bot (this "
                     f"one knows up to {report.latest})", "upgrade the bot")
    if report.foreign:
        return Check("Database", FAIL, f"{path} is not this bot's database",
                     "point DATABASE_PATH at the bot's database")
    if report.schema_problems:
        return Check("Database", FAIL,
                     f"schema differs from the migrations: {report.schema_problems[0]}",
                     restore)
    if report.empty:
        return Check("Database", PASS, f"{path} is empty; the next start creates the tables")
    if report.schema_version == report.latest:
        version = f"schema version {report.schema_version} (the latest)"
    else:
        version = (f"schema version {report.schema_version}; the next start upgrades it to "
                   f"{report.latest}" + (" (backed up first)" if settings.backup_dir else ""))
    return Check("Database", PASS, f"{path}: no damage (integrity and foreign keys), {version}")


def _subscriptions(path: Path) -> list[tuple[int, int, int, int | None, bool, str]]:
    """(id, guild, channel, role, publish, state) of every subscription not ended."""
    uri = path.resolve().as_uri() + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True)
    try:
        return [tuple(row) for row in connection.execute(
            "SELECT id, guild_id, channel_id, role_id, publish, state FROM news_subscriptions"
            " WHERE state != 'ended' ORDER BY guild_id, channel_id")]
    finally:
        connection.close()


# ---- Discord -----------------------------------------------------------------------------------

def _token_check(client: discord.Client) -> Check:
    user, app = client.user, client.application
    app_id = app.id if app is not None else client.application_id
    return Check("Token", PASS, f"Discord accepts it: logged in as {user} (application "
                                f"{app_id})")


def check_intents(client: discord.Client, wanted: discord.Intents) -> Check:
    flags = client.application.flags if client.application else discord.ApplicationFlags()
    needed = [(attr, flag_names, label)
              for attr, (flag_names, label) in PRIVILEGED_INTENTS.items()
              if getattr(wanted, attr)]
    missing = [label for _, flag_names, label in needed
               if not any(getattr(flags, f) for f in flag_names)]
    if missing:
        return Check("Intents", FAIL, "the bot needs " + ", ".join(missing) + ", which the "
                     "application does not allow", "turn it on in the Developer Portal > Bot")
    enabled = [label for attr, (flag_names, label) in PRIVILEGED_INTENTS.items()
               if any(getattr(flags, f) for f in flag_names) and not getattr(wanted, attr)]
    detail = "the bot asks only for Guilds, which is not privileged"
    if enabled:
        detail += ("; " + ", ".join(enabled) + " on in the Developer Portal but unused (you "
                   "may turn it off)")
    return Check("Intents", PASS, detail)


_OPTION_KEYS = ("type", "name", "description", "required", "autocomplete", "channel_types",
                "min_value", "max_value", "min_length", "max_length")


def _option(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: data.get(k) for k in _OPTION_KEYS}
    out["required"] = bool(out["required"])
    out["autocomplete"] = bool(out["autocomplete"])
    out["channel_types"] = sorted(out["channel_types"] or [])
    out["choices"] = [(c.get("name"), c.get("value")) for c in data.get("choices") or []]
    out["options"] = [_option(o) for o in data.get("options") or []]
    return out


def normalise_command(data: Mapping[str, Any]) -> dict[str, Any]:
    """What makes a command look and work the same to members: its name, text, options and
    default permissions, without what Discord adds (ids, versions) or fills in."""
    out = _option({**data, "type": data.get("type", 1)})
    permissions = data.get("default_member_permissions")
    out["default_member_permissions"] = str(permissions) if permissions is not None else None
    return out


def compare_commands(expected: Iterable[Mapping[str, Any]],
                     found: Iterable[Mapping[str, Any]]) -> list[str]:
    mine = {c["name"]: normalise_command(c) for c in expected}
    theirs = {c["name"]: normalise_command(c) for c in found}
    problems = [f"/{n} is missing" for n in sorted(mine) if n not in theirs]
    problems += [f"/{n} is out of date" for n in sorted(mine)
                 if n in theirs and mine[n] != theirs[n]]
    problems += [f"/{n} is not one of this bot's" for n in sorted(theirs) if n not in mine]
    return problems


async def check_commands(client: commands.Bot, settings: Settings) -> Check:
    app_id = client.application_id
    assert app_id is not None
    expected = [c.to_dict(client.tree) for c in client.tree.get_commands()]
    guild = settings.dev_guild_id
    if guild:
        where = f"in server {guild} (DEV_GUILD_ID)"
        fix = "restart the bot: it syncs its commands to DEV_GUILD_ID at every start"
        try:
            found = await client.http.get_guild_commands(app_id, guild)
        except discord.Forbidden:
            return Check("Commands", FAIL, f"cannot read the commands {where}: the bot is not "
                         "in that server, or lacks the applications.commands scope",
                         "invite the bot there with `heartstopper-bot invite`, or correct "
                         "DEV_GUILD_ID")
    else:
        where = "globally"
        fix = "run `heartstopper-bot sync` (Discord takes up to an hour to show the change)"
        found = await client.http.get_global_commands(app_id)
    problems = compare_commands(expected, found)
    if problems:
        shown = "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
        return Check("Commands", FAIL, f"not synced {where}: {shown}", fix)
    return Check("Commands", PASS, f"{len(expected)} synced {where}, as the bot defines them")


ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
MENTION_EVERYONE = 1 << 17
ALL_PERMISSIONS = discord.Permissions.all().value


def channel_permissions(guild: Mapping[str, Any], roles: Sequence[Mapping[str, Any]],
                        member: Mapping[str, Any], channel: Mapping[str, Any],
                        user_id: int) -> discord.Permissions:
    """Discord's permission computation for a member in a channel, from REST payloads."""
    if int(guild.get("owner_id") or 0) == user_id:
        return discord.Permissions(ALL_PERMISSIONS)
    guild_id = int(guild["id"])
    by_id = {int(r["id"]): int(r.get("permissions") or 0) for r in roles}
    member_roles = {int(r) for r in member.get("roles", [])}
    base = by_id.get(guild_id, 0)
    for role_id in member_roles:
        base |= by_id.get(role_id, 0)
    if base & ADMINISTRATOR:
        return discord.Permissions(ALL_PERMISSIONS)
    overwrites = {(int(o["id"]), int(o.get("type", 0))): o
                  for o in channel.get("permission_overwrites") or []}

    def apply(value: int, allow: int, deny: int) -> int:
        return (value & ~deny) | allow

    everyone = overwrites.get((guild_id, 0))
    if everyone:
        base = apply(base, int(everyone["allow"]), int(everyone["deny"]))
    allow = deny = 0
    for role_id in member_roles:
        o = overwrites.get((role_id, 0))
        if o:
            allow |= int(o["allow"])
            deny |= int(o["deny"])
    base = apply(base, allow, deny)
    own = overwrites.get((user_id, 1))
    if own:
        base = apply(base, int(own["allow"]), int(own["deny"]))
    if not base & VIEW_CHANNEL:
        base = 0  # nothing else counts in a channel the member cannot see
    return discord.Permissions(base)


async def check_subscriptions(client: discord.Client, settings: Settings) -> list[Check]:
    try:
        subscriptions = _subscriptions(settings.database_path)
    except sqlite3.Error as exc:
        return [Check("News subscriptions", SKIP, f"not checked (the database: {exc})")]
    if not subscriptions:
        return [Check("News subscriptions", PASS, "none yet")]
    assert client.user is not None
    me = client.user.id
    guilds: dict[int, tuple[Mapping[str, Any], Sequence[Mapping[str, Any]], Mapping[str, Any]]
                 | str] = {}
    problems: list[Check] = []
    for _id, guild_id, channel_id, role_id, _publish, state in subscriptions:
        name = f"News in channel {channel_id} (server {guild_id})"
        if guild_id not in guilds:
            try:
                guilds[guild_id] = (await client.http.get_guild(guild_id, with_counts=False),
                                    await client.http.get_roles(guild_id),
                                    await client.http.get_member(guild_id, me))
            except discord.HTTPException as exc:
                guilds[guild_id] = f"HTTP {exc.status}: {exc.text or 'no reason given'}"
        known = guilds[guild_id]
        if isinstance(known, str):
            problems.append(Check(name, FAIL, f"cannot read the server ({known}); the bot may "
                                  "have been removed from it",
                                  "invite the bot again (`heartstopper-bot invite`); the "
                                  "subscription ends by itself when the bot sees it removed"))
            continue
        guild, roles, member = known
        name = f"News in channel {channel_id} ({guild.get('name', guild_id)})"
        try:
            channel = await client.http.get_channel(channel_id)
        except discord.NotFound:
            problems.append(Check(name, FAIL, "the channel no longer exists",
                                  "nothing to do while the bot runs (it ends the "
                                  "subscription when it sees the deletion); or "
                                  "`/news unsubscribe` there"))
            continue
        except discord.Forbidden:
            channel = None
        name = (f"News in #{channel.get('name', channel_id)} ({guild.get('name', guild_id)})"
                if channel else name)
        perms = (channel_permissions(guild, roles, member, channel, me) if channel
                 else discord.Permissions.none())
        missing = missing_post_permissions(perms)
        if missing:
            paused = " (news there is paused)" if state == "paused" else ""
            problems.append(Check(name, FAIL, "the bot is missing " + ", ".join(missing) +
                                  paused,
                                  "give the bot's role these permissions in that channel "
                                  "(Edit Channel > Permissions), or `/news unsubscribe` it; "
                                  "news resumes by itself"))
            continue
        role = next((r for r in roles if role_id and int(r["id"]) == role_id), None)
        if role is not None and not role.get("mentionable") and not perms.mention_everyone:
            problems.append(Check(name, FAIL, f"cannot ping @{role.get('name')}: the role is "
                                  "not mentionable", "allow anyone to @mention the role "
                                  "(Server Settings > Roles), or subscribe again without it"))
    total = len(subscriptions)
    if not problems:
        return [Check("News subscriptions", PASS,
                      f"{total} checked; the bot can post in every one")]
    listed = problems[:MAX_LISTED]
    summary = Check("News subscriptions", FAIL,
                    f"{len(problems)} of {total} need attention" +
                    (f" (the first {MAX_LISTED} below)" if len(problems) > MAX_LISTED else ""))
    return [summary, *listed]


# ---- the whole checklist -----------------------------------------------------------------------

def _skipped(names: Iterable[str], why: str) -> list[Check]:
    return [Check(name, SKIP, f"not checked ({why})") for name in names]


async def _login(client: discord.Client, settings: Settings) -> Check | None:
    """GET /users/@me (and the application): None when Discord accepts the token."""
    from bot.cli import NETWORK_ERRORS, _unreachable

    assert settings.token is not None
    try:
        await client.login(settings.token)
    except discord.LoginFailure:
        return Check("Token", FAIL, "Discord refused DISCORD_TOKEN",
                     "copy it again from the Developer Portal (Bot > Reset Token) into "
                     "DISCORD_TOKEN")
    except discord.HTTPException as exc:
        return Check("Token", FAIL, f"Discord answered HTTP {exc.status}",
                     "try again in a few minutes")
    except NETWORK_ERRORS as exc:
        return Check("Token", FAIL, str(_unreachable(settings, exc)).split(". ")[0],
                     "check this machine's network connection (and DISCORD_API_BASE if set)")
    return None


async def run_checks(settings: Settings) -> list[Check]:
    from bot.cli import NETWORK_ERRORS, _unreachable
    from bot.client import HeartstopperBot, point_discord_at

    checks = [check_settings(settings), await check_database_file(settings)]
    discord_checks = ("Token", "Intents", "Commands", "News subscriptions")
    if not settings.token:
        return checks + _skipped(discord_checks, "no DISCORD_TOKEN")
    point_discord_at(settings)
    # The bot's command tree comes from the code; a throwaway database serves its cogs.
    with tempfile.TemporaryDirectory(prefix="heartstopper-doctor-") as folder:
        async with Store(await Database.open(Path(folder) / "doctor.db")) as store, \
                HeartstopperBot(settings, store, sync_dev_guild=False,
                                run_services=False) as client:
            failed_login = await _login(client, settings)
            if failed_login is not None:
                return [*checks, failed_login,
                        *_skipped(discord_checks[1:], "needs a working token")]
            checks.append(_token_check(client))
            checks.append(check_intents(client, client.intents))
            steps = (("Commands", check_commands), ("News subscriptions", check_subscriptions))
            for name, step in steps:
                try:
                    result = await step(client, settings)
                except discord.HTTPException as exc:
                    log.debug("doctor: %s", name, exc_info=True)
                    result = Check(name, FAIL, f"Discord refused a request (HTTP {exc.status}: "
                                   f"{(exc.text or 'no reason given')[:200]})",
                                   "try again; if it persists, check the bot's settings")
                except NETWORK_ERRORS as exc:
                    result = Check(name, FAIL, str(_unreachable(settings, exc)).split(". ")[0],
                                   "check this machine's network connection")
                checks += result if isinstance(result, list) else [result]
    return checks


async def doctor(settings: Settings) -> int:
    checks = await run_checks(settings)
    for check in checks:
        for line in check.lines():
            print(line)
    failed = sum(check.failed for check in checks)
    print(f"{failed} problem(s) to fix." if failed else "Everything checks out.")
    return 1 if failed else 0
