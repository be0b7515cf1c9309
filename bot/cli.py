"""`heartstopper-bot` (also `python -m bot`): run the bot and look after its database.

Every expected failure (bad setting, bad seed file, unusable database, missing token) ends with a
one-line message on stderr and exit code 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import discord

from bot.config import ConfigError, Settings, configure_logging, load_settings
from bot.seeding import SeedError, load_seed
from bot.store import Store, StoreError

log = logging.getLogger("bot")

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

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    db_commands.add_parser("init", help="create the database and apply migrations")
    db_commands.add_parser("seed", help="load or refresh canon content from data/")
    db_commands.add_parser("stats", help="print how many records the database holds")
    backup = db_commands.add_parser("backup", help="copy the database safely, even while running")
    backup.add_argument("path", type=Path, help="where to write the copy")
    return parser


async def _open_store(settings: Settings) -> Store:
    return await Store.open(settings.database_path)


async def seed_store(store: Store, settings: Settings) -> dict[str, int]:
    return await store.canon.apply_seed(load_seed(settings.seed_dir))


async def prepare_store(settings: Settings) -> Store:
    """Open (migrating) and seed on first start, so a new install answers at once."""
    store = await _open_store(settings)
    try:
        if not await store.canon.is_seeded():
            counts = await seed_store(store, settings)
            log.info("seeded a new database: %s", counts)
    except BaseException:
        await store.close()
        raise
    return store


async def cmd_db_init(settings: Settings) -> None:
    async with await _open_store(settings) as store:
        print(f"{store.path}: schema version {await store.schema_version()}")


async def cmd_db_seed(settings: Settings) -> None:
    seed = load_seed(settings.seed_dir)  # validate everything before opening the database
    async with await _open_store(settings) as store:
        counts = await store.canon.apply_seed(seed)
    print("seeded: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


async def cmd_db_stats(settings: Settings) -> None:
    async with await _open_store(settings) as store:
        stats = await store.stats()
    width = max(len(name) for name, _ in stats.as_rows())
    print(f"database: {settings.database_path}")
    for name, value in stats.as_rows():
        print(f"  {name:<{width}}  {value}")


async def cmd_db_backup(settings: Settings, target: Path) -> None:
    if target.resolve() == settings.database_path.resolve():  # noqa: ASYNC240 (instant)
        raise CliError("the backup path must differ from DATABASE_PATH")
    async with await _open_store(settings) as store:
        await store.backup(target)
    print(f"backed up {settings.database_path} to {target}")


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
    store = await prepare_store(settings)
    try:
        async with bot_class(settings)(settings, store) as client:
            try:
                await client.start(token)
            except discord.LoginFailure:
                raise CliError("Discord refused DISCORD_TOKEN: copy it again from the "
                               "Developer Portal (Bot > Reset Token)") from None
            except discord.PrivilegedIntentsRequired:
                raise CliError("Discord refused an intent; this bot needs none that are "
                               "privileged, so this is a bug") from None
            except discord.ConnectionClosed as exc:
                if exc.code != GATEWAY_SHARDING_REQUIRED:
                    raise
                raise CliError("Discord requires sharding for this many servers: set "
                               "SHARD_COUNT=auto (see the README's settings)") from None
    finally:
        await store.close()


async def cmd_sync(settings: Settings) -> None:
    from bot.client import HeartstopperBot, point_discord_at

    token = _require_token(settings)
    point_discord_at(settings)
    async with await _open_store(settings) as store, HeartstopperBot(
        settings, store, sync_dev_guild=False, run_services=False
    ) as client:
        try:
            await client.login(token)
        except discord.LoginFailure:
            raise CliError("Discord refused DISCORD_TOKEN") from None
        synced = await client.tree.sync()
    print(f"synced {len(synced)} global commands: " + ", ".join(sorted(c.name for c in synced)))


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
            from bot.playground import run_playground
            return await run_playground(settings)
        await cmd_run(settings)
    elif command == "playground":
        from bot.playground import run_playground
        return await run_playground(settings, script=args.script)
    elif command == "sync":
        await cmd_sync(settings)
    elif command == "invite":
        cmd_invite(settings, args.client_id)
    elif command == "db":
        if args.db_command == "init":
            await cmd_db_init(settings)
        elif args.db_command == "seed":
            await cmd_db_seed(settings)
        elif args.db_command == "stats":
            await cmd_db_stats(settings)
        elif args.db_command == "backup":
            await cmd_db_backup(settings, args.path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except ConfigError as exc:
        print(f"heartstopper-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings)
    code = None
    try:
        with contextlib.suppress(KeyboardInterrupt):
            code = asyncio.run(dispatch(args, settings))
    except (CliError, SeedError, StoreError) as exc:
        print(f"heartstopper-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code or 0
