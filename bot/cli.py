"""`heartstopper-bot` (also `python -m bot`): run the bot and look after its database.

Every expected failure (bad setting, bad seed file, unusable database, missing token, no
network, a second serving process) ends with a one-line message on stderr and exit code 2 (a
message per mistake when the seed files hold several); a traceback means a bug.

Only `run` (and the playground it opens without a token), `db init` and `db seed` create a
database; every other command refuses a path where there is none.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import errno
import logging
import signal
import socket
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import discord

from bot.canon.seeding import SeedData, SeedError, load_seed
from bot.core import runtime
from bot.core.backups import before_migrating
from bot.core.config import (
    DEFAULT_DATABASE,
    ConfigError,
    Settings,
    configure_logging,
    load_settings,
)
from bot.core.database import Database, StoreUnavailable, check_location, is_damage
from bot.core.leadership import LeaseRepository, describe_lease, shard_count_conflict
from bot.core.maintenance import CheckReport, backup_database, check_database
from bot.core.service_lock import ServingLockError, preparing, serving
from bot.store import Store, StoreError

log = logging.getLogger("bot")

EXIT_DAMAGED = 1  # `db check`: the database is not sound
EXIT_USAGE = 2
GATEWAY_SHARDING_REQUIRED = 4011  # Discord's close code above 2,500 servers on one connection

# The smallest set the features need: see channels, post in them, embed cards. Publishing our own
# posts in announcement channels needs only Send Messages there.
INVITE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True,
                                         read_message_history=True)


class CliError(Exception):
    """An expected failure with a message for the person at the terminal."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heartstopper-bot",
        description="Heartstopper fan-server bot: character lookups, quotes and season news.",
    )
    parser.add_argument("--env-file", type=Path, default=None,
                        help="read settings from this file instead of ./.env")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="connect to Discord and serve commands (the default)")
    run.add_argument("--playground-without-token", action="store_true",
                     help="open the local playground instead of failing when no token is set")
    playground = commands.add_parser(
        "playground", help="run the real bot against the local emulator and type commands")
    playground.add_argument("--script", type=Path, default=None, metavar="FILE",
                            help="run the commands in FILE (one a line) and print the transcript")
    commands.add_parser("sync", help="sync slash commands globally (takes up to an hour to show)")
    invite = commands.add_parser("invite", help="print the invite URL with the needed permissions")
    invite.add_argument("--client-id", type=int, default=None,
                        help="the application ID (default: read from DISCORD_TOKEN)")
    commands.add_parser(
        "doctor", help="check settings, token, intents, commands, database and news channels "
                       "(exit 0 all pass, 1 something to fix)")

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_commands.add_parser("init", help="create the database and apply migrations")
    db_commands.add_parser(
        "seed", help="load or refresh canon content from SEED_DIR (default: the bot's own)")
    db_commands.add_parser("stats", help="print how many records the database holds")
    backup = db_commands.add_parser("backup", help="copy the database safely, even while running")
    backup.add_argument("path", type=Path, help="where to write the copy")
    check = db_commands.add_parser(
        "check", help="check the database for damage (exit 0 sound, 1 damaged)")
    check.add_argument("path", type=Path, nargs="?", default=None,
                       help="the database file to check (default: DATABASE_PATH), e.g. a backup")
    return parser


def _allow_default_folder(settings: Settings) -> None:
    """The default database's folder (data/ in the current directory) is the bot's own: made
    if missing. Any other missing folder is more likely a mistyped DATABASE_PATH, and is
    reported instead."""
    path = settings.database_path
    if path.parent.resolve() == DEFAULT_DATABASE.parent.resolve():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            pass  # a file called data: Database.open says so
        except OSError as exc:  # a read-only current directory (`/` under a service manager)
            raise CliError(f"cannot create the folder {path.parent.resolve()} for the database "
                           f"({exc.strerror or exc}). Run the bot from a folder it can write "
                           "to, or set DATABASE_PATH.") from None


async def _open_store(settings: Settings, *, create: bool) -> Store:
    if create:
        _allow_default_folder(settings)
    # With BACKUP_DIR set, a database about to be migrated is backed up first.
    return Store(await Database.open(settings.database_path, create=create,
                                     before_migrating=before_migrating(settings)))


async def seed_store(store: Store, settings: Settings) -> dict[str, int]:
    return await store.canon.apply_seed(load_seed(settings.seed_dir))


def first_start_seed(settings: Settings) -> SeedData | None:
    """The seed files, read and checked before a new database is made, so a mistake in them
    leaves no empty database (or lock file) behind; None when the database exists."""
    return None if settings.database_path.exists() else load_seed(settings.seed_dir)


async def prepare_store(settings: Settings, seed: SeedData | None = None) -> Store:
    """Open (creating and migrating) and seed on first start, so a new install answers at once."""
    store = await _open_store(settings, create=True)
    try:
        if not await store.canon.is_seeded():
            counts = await store.canon.apply_seed(seed or load_seed(settings.seed_dir))
            log.info("seeded a new database: %s", counts)
    except BaseException:
        await store.close()
        raise
    return store


async def cmd_db_init(settings: Settings) -> None:
    async with await _open_store(settings, create=True) as store:
        print(f"{store.path}: schema version {await store.schema_version()}")


async def cmd_db_seed(settings: Settings) -> None:
    seed = load_seed(settings.seed_dir)  # validate everything before opening the database
    async with await _open_store(settings, create=True) as store:
        counts = await store.canon.apply_seed(seed)
    print("seeded: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


async def cmd_db_stats(settings: Settings) -> None:
    async with await _open_store(settings, create=False) as store:
        stats = await store.stats()
        lease = await LeaseRepository(store.database).current()
    width = max(len(name) for name, _ in stats.as_rows())
    print(f"database: {settings.database_path}")
    for name, value in stats.as_rows():
        print(f"  {name:<{width}}  {value}")
    # Which of the processes serving this database runs news delivery, feeds and the rest.
    print(f"background work: {describe_lease(lease, datetime.now(UTC))}")


async def cmd_db_backup(settings: Settings, target: Path) -> None:
    await backup_database(settings.database_path, target)
    print(f"backed up {settings.database_path} to {target} (checked: no damage)")


def check_lines(report: CheckReport) -> list[str]:
    """The report of `db check`, for the terminal."""
    lines: list[str] = []
    if report.schema_version is None:
        lines.append(f"  file: {report.damage[0]}")
        return lines
    lines.append("  integrity: " + ("ok (PRAGMA integrity_check, foreign_key_check)"
                                    if not report.damage else f"{len(report.damage)} problem(s)"))
    lines += [f"    {problem}" for problem in report.damage]
    version, latest = report.schema_version, report.latest
    if report.newer:
        lines.append(f"  schema: version {version}, newer than this bot knows (up to {latest})")
    elif report.foreign:
        lines.append("  schema: tables, but no schema version: not this bot's database")
    elif report.empty:
        lines.append(f"  schema: empty (no tables yet; `run` or `db init` makes version "
                     f"{latest})")
    else:
        status = ("the latest this bot knows" if version == latest
                  else f"this bot upgrades it to {latest} at the next `run` or `db init`")
        lines.append(f"  schema: version {version}, {status}")
        lines.append("    tables, indexes and triggers: " + (
            "as the migrations make them" if not report.schema_problems
            else f"{len(report.schema_problems)} difference(s)"))
        lines += [f"      {problem}" for problem in report.schema_problems]
    return lines


async def cmd_db_check(settings: Settings, path: Path | None) -> int:
    target = settings.database_path if path is None else path
    report = await check_database(target)
    if report.sound and report.newer:
        verdict = "no damage found, but written by a newer version of the bot"
    elif report.sound and report.foreign:
        verdict = "no damage found, but not this bot's database"
    else:
        verdict = "sound" if report.sound else "DAMAGED"
    print(f"{target}: {verdict}")
    for line in check_lines(report):
        print(line)
    if not report.sound:
        first = (report.damage or report.schema_problems)[0]
        print(f"heartstopper-bot: {target} is damaged ({first}). Stop the bot and restore the "
              "latest good backup (check it first with `heartstopper-bot db check BACKUP`).",
              file=sys.stderr)
        return EXIT_DAMAGED
    if report.newer:
        raise CliError(f"{target} was written by a newer version of the bot (schema "
                       f"{report.schema_version}; this version knows up to {report.latest}). "
                       "Upgrade the bot to use it.")
    if report.foreign:
        raise CliError(f"{target} is a SQLite database, but not this bot's. Point "
                       "DATABASE_PATH at the bot's database.")
    return 0


def _unreachable(settings: Settings, exc: BaseException) -> CliError:
    """No connection to Discord: the reason in words, never the token."""
    where = "discord.com"
    if settings.api_base:  # its host only: a path or query could hold a secret
        where = urlsplit(settings.api_base).hostname or "the DISCORD_API_BASE server"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        reason = "the name does not resolve"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        reason = ("connection refused" if os_error.errno == errno.ECONNREFUSED
                  else os_error.strerror or str(os_error) or type(os_error).__name__)
    elif isinstance(exc, TimeoutError):
        reason = "no answer in time"
    elif isinstance(exc, OSError) and exc.strerror:  # refused, reset, no such name
        reason = exc.strerror
    else:
        reason = str(exc) or type(exc).__name__
    hint = " and DISCORD_API_BASE" if settings.api_base else ""
    return CliError(f"could not reach Discord at {where} ({reason}). Check this machine's "
                    f"network connection{hint}, then try again.")


def _refused(settings: Settings, exc: discord.HTTPException, *, dev_guild: bool) -> CliError:
    if exc.status >= 500:
        return CliError(f"Discord is having trouble (HTTP {exc.status}). Try again in a few "
                        "minutes.")
    reason = (exc.text or "no reason given")[:200]
    if dev_guild and settings.dev_guild_id and exc.status in (403, 404):
        hint = "Check DEV_GUILD_ID: the bot must be in that server."
    else:
        hint = "Check the bot's settings in the Developer Portal, then try again."
    return CliError(f"Discord refused a request (HTTP {exc.status}: {reason}). {hint}")


# What aiohttp and asyncio raise when Discord cannot be reached at all (refused, reset, no
# route, a name that does not resolve, TLS failing, no answer).
NETWORK_ERRORS = (aiohttp.ClientError, ConnectionError, socket.gaierror, TimeoutError)


def _require_token(settings: Settings) -> str:
    if not settings.token:
        raise CliError(
            "DISCORD_TOKEN is not set. Put your bot token in .env (see .env.example and the "
            "README's 'Create the Discord application'), or try the bot offline with "
            "`heartstopper-bot playground`."
        )
    return settings.token


async def cmd_run(settings: Settings) -> None:
    from bot.client import bot_class, point_discord_at

    token = _require_token(settings)
    point_discord_at(settings)
    # Said once, so a figure or a report can be matched with the runtime it came from.
    log.info("event loop: %s", runtime.loop_name(asyncio.get_running_loop()))
    if (problem := runtime.json_problem()) is not None:
        log.warning("%s", problem)
    _allow_default_folder(settings)
    check_location(settings.database_path, create=True)
    seed = first_start_seed(settings)
    with serving(settings.database_path, settings.shard_ids):
        with preparing(settings.database_path):
            store = await prepare_store(settings, seed)
        try:
            await _check_shard_count(settings, store)
            await _serve(settings, store, token, bot_class(settings))
        finally:
            await store.close()


async def _check_shard_count(settings: Settings, store: Store) -> None:
    """Shard slices of one database must agree on SHARD_COUNT (bot/core/leadership.py)."""
    if settings.shard_ids is None:
        return
    problem = shard_count_conflict(await LeaseRepository(store.database).current(),
                                   settings.shard_count, datetime.now(UTC))
    if problem:
        raise CliError(problem)


@contextlib.asynccontextmanager
async def _stop_on_signals(client: discord.Client) -> AsyncIterator[None]:
    """SIGTERM and SIGINT stop the bot gracefully (HeartstopperBot.shutdown): what is in
    flight finishes or is handed back to the outbox, then the gateway closes and `run` exits 0.
    A second signal while stopping is only logged: the drain has its own deadline."""
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[object]] = []

    def stop(signum: int) -> None:
        if stopping:
            log.info("%s again: already stopping", signal.Signals(signum).name)
            return
        log.info("%s: stopping", signal.Signals(signum).name)
        shutdown = getattr(client, "shutdown", None)
        stopping.append(asyncio.ensure_future(shutdown() if shutdown else client.close()))

    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Not on every platform, and only on the main thread: asyncio's loop says so with
        # RuntimeError there, uvloop's with ValueError.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        if stopping:  # the gateway closed; let the shutdown finish its own steps
            await asyncio.wait(stopping)


@contextlib.contextmanager
def _discord_refusals(settings: Settings, *, dev_guild: bool) -> Iterator[None]:
    """What Discord or the network can answer at login and sync, as one line (the traceback
    goes to the debug log)."""
    try:
        yield
    except discord.LoginFailure:
        raise CliError("Discord refused DISCORD_TOKEN: copy it again from the "
                       "Developer Portal (Bot > Reset Token)") from None
    except discord.HTTPException as exc:
        log.debug("Discord refused a request", exc_info=True)
        raise _refused(settings, exc, dev_guild=dev_guild) from None
    except NETWORK_ERRORS as exc:
        log.debug("could not reach Discord", exc_info=True)
        raise _unreachable(settings, exc) from None


async def _serve(settings: Settings, store: Store, token: str, bot_type: type) -> None:
    async with bot_type(settings, store, freeze_startup_heap=True) as client:
        try:
            with _discord_refusals(settings, dev_guild=True):
                async with _stop_on_signals(client):
                    await client.start(token)
        except discord.PrivilegedIntentsRequired:
            raise CliError("Discord refused an intent; this bot needs none that are "
                           "privileged, so this is a bug") from None
        except discord.ConnectionClosed as exc:
            if exc.code != GATEWAY_SHARDING_REQUIRED:
                raise
            raise CliError("Discord requires sharding for this many servers: set "
                           "SHARD_COUNT=auto (see the README's settings)") from None


async def cmd_sync(settings: Settings) -> None:
    from bot.client import HeartstopperBot, point_discord_at

    token = _require_token(settings)
    point_discord_at(settings)
    # The commands are defined in the code, not the database: syncing reads nothing from it, so
    # it runs on a throwaway database, and works with DATABASE_PATH missing, busy or damaged.
    with tempfile.TemporaryDirectory(prefix="heartstopper-sync-") as folder:
        async with Store(await Database.open(Path(folder) / "sync.db")) as store, \
                HeartstopperBot(settings, store, sync_dev_guild=False,
                                run_services=False) as client:
            with _discord_refusals(settings, dev_guild=False):
                await client.login(token)
                synced = await client.tree.sync()
    print(f"synced {len(synced)} global commands: " + ", ".join(sorted(c.name for c in synced)))


async def run_playground_serving(settings: Settings, script: Path | None = None) -> int:
    """The playground runs the bot's background work (news delivery, the daily quote) on the
    local database like `run` does, so it takes the same one-process lock."""
    from bot.playground import run_playground

    _allow_default_folder(settings)
    check_location(settings.database_path, create=True)
    with serving(settings.database_path):
        return await run_playground(settings, script=script)


def application_id_from_token(token: str) -> int:
    """A bot token's first segment is the base64 of the bot's user id (= the application id)."""
    first = token.split(".", 1)[0]
    try:
        return int(base64.b64decode(first + "=" * (-len(first) % 4)).decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CliError("could not read the application ID from DISCORD_TOKEN; pass "
                       "--client-id (Developer Portal > General Information)") from None


def cmd_invite(settings: Settings, client_id: int | None) -> None:
    if client_id is None:
        client_id = application_id_from_token(_require_token(settings))
    print(discord.utils.oauth_url(client_id, permissions=INVITE_PERMISSIONS,
                                  scopes=("bot", "applications.commands")))


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    """Runs the command; a return value is the exit code (the playground's)."""
    command = args.command or "run"
    if command == "run":
        if not settings.token and getattr(args, "playground_without_token", False):
            print("No DISCORD_TOKEN set: opening the local playground. To connect to real "
                  "Discord, put your bot token in .env (see the README).", flush=True)
            return await run_playground_serving(settings)
        await cmd_run(settings)
    elif command == "playground":
        return await run_playground_serving(settings, script=args.script)
    elif command == "sync":
        await cmd_sync(settings)
    elif command == "invite":
        cmd_invite(settings, args.client_id)
    elif command == "doctor":
        from bot.doctor import doctor

        return await doctor(settings)
    elif command == "db":
        if args.db_command == "init":
            await cmd_db_init(settings)
        elif args.db_command == "seed":
            await cmd_db_seed(settings)
        elif args.db_command == "stats":
            await cmd_db_stats(settings)
        elif args.db_command == "backup":
            await cmd_db_backup(settings, args.path)
        elif args.db_command == "check":
            return await cmd_db_check(settings, args.path)
    return None


def _damaged(settings: Settings, exc: sqlite3.Error) -> str:
    return (f"heartstopper-bot: {settings.database_path} is damaged ({exc}). Stop the bot, run "
            "`heartstopper-bot db check`, and restore the latest good backup.")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except ConfigError as exc:
        if args.command == "doctor":  # a bad setting is a failed check, not a usage error
            from bot.doctor import config_error_check

            print("\n".join(config_error_check(exc).lines()))
            return EXIT_DAMAGED
        print(f"heartstopper-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings)
    code = None
    try:
        with contextlib.suppress(KeyboardInterrupt):
            code = runtime.run(dispatch(args, settings), event_loop=settings.event_loop)
    except SeedError as exc:
        if len(exc.problems) == 1:
            # A problem that is a full sentence already says what to do (save as UTF-8, point
            # SEED_DIR elsewhere); an entry's mistake is fixed where it names.
            problem = exc.problems[0]
            advice = "" if problem.endswith(".") else (
                ". Fix it, then run the command again; nothing was written.")
            print(f"heartstopper-bot: {problem}{advice}", file=sys.stderr)
        else:
            print(f"heartstopper-bot: {len(exc.problems)} mistakes in the seed files; nothing "
                  "was written. Fix them all, then run the command again:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (CliError, StoreError, ServingLockError) as exc:
        cause = exc.__cause__
        if (isinstance(exc, StoreUnavailable) and isinstance(cause, sqlite3.DatabaseError)
                and is_damage(cause)):
            # A write the store refused because of damage: say what the damage means.
            print(_damaged(settings, cause), file=sys.stderr)
        else:
            print(f"heartstopper-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.DatabaseError as exc:
        # Damage SQLite meets past the open (a page it reads only now): not a bug of the bot.
        if not is_damage(exc):
            raise
        log.debug("the database is damaged", exc_info=True)
        print(_damaged(settings, exc), file=sys.stderr)
        return EXIT_USAGE
    return code or 0
