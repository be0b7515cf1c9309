"""The bot: a `commands.Bot` that is handed its settings and store, as discord.py's
`examples/advanced_startup.py` does, and loads one cog per feature from `cogs/`."""

from __future__ import annotations

import asyncio
import gc
import logging
import pkgutil
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import discord
import yarl
from discord import app_commands
from discord.ext import commands

import cogs
from bot.characters.directory import CharacterDirectory
from bot.core.backups import Backups
from bot.core.config import Settings
from bot.core.errors import EXPIRED_LOG, expired, report_error, user_message
from bot.core.health_server import HealthServer
from bot.core.lateness import Lateness, shed_if_late
from bot.core.leadership import Leadership, LeaseTiming, process_description
from bot.core.logs import interaction_context
from bot.core.metrics import BotMetrics
from bot.core.text import without_lone_surrogates
from bot.store import Store

if TYPE_CHECKING:  # the engine module imports the store, which imports every feature
    from bot.news.engine import NewsEngine

log = logging.getLogger(__name__)

# A publish can be told to wait many minutes; never let one call sleep that long (the news
# engine catches discord.RateLimited and reschedules instead).
MAX_RATELIMIT_TIMEOUT = 30.0
# On SIGTERM/SIGINT, news sends in flight get this long to finish before the rest is handed
# back to the outbox; with the gateway's close the process is gone well within 10 seconds.
GRACEFUL_DRAIN_SECONDS = 5.0


def discover_cogs() -> list[str]:
    """Every module in the `cogs` package, as extension names."""
    return sorted(
        f"{cogs.__name__}.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if not module.name.startswith("_")
    )


def point_discord_at(settings: Settings) -> None:
    """Send REST and gateway traffic to a Discord-compatible server when one is configured.

    discord.py reads these from class attributes, so they are process-wide by design.
    """
    if settings.api_base:
        discord.http.Route.BASE = settings.api_base
    if settings.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def _scrub(value: object) -> object:
    """Every string in an interaction's data with lone surrogates replaced (U+FFFD), in place
    (nothing is allocated when nothing needs replacing: every interaction passes here).
    Discord's JSON can carry them ('\\ud83d'); SQLite, UTF-8 and Discord itself refuse them
    later, as a crash far from the input."""
    if isinstance(value, str):
        return without_lone_surrogates(value)
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (clean := _scrub(item)) is not item:
                value[i] = clean
    elif isinstance(value, dict):
        for key, item in value.items():
            if (clean := _scrub(item)) is not item:
                value[key] = clean
    return value


# The interaction HeartstopperTree._call is handling, for AutocompleteFailures (the log record
# discord.py makes does not name it).
_handling: ContextVar[discord.Interaction | None] = ContextVar("handling", default=None)


class AutocompleteFailures(logging.Filter):
    """discord.py answers an autocomplete itself, and when that fails (our callback raised, or
    Discord refused the choices) it logs the exception on `discord.app_commands.tree` and
    carries on, so the tree's error path never hears of it. Here the failure is counted in
    /metrics as the error path would count it, and a refusal for coming after Discord's
    deadline becomes one warning line, as report_error makes it for commands, not a
    traceback per keystroke on an overloaded process."""

    def filter(self, record: logging.LogRecord) -> bool:
        interaction = _handling.get()
        if (record.exc_info is None or interaction is None
                or interaction.type is not discord.InteractionType.autocomplete):
            return True
        error = record.exc_info[1]
        if isinstance(error, Exception) and expired(error):
            interaction.extras["outcome"] = "expired"
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(
                logging.WARNING)
            record.msg = EXPIRED_LOG
            record.args = (interaction.id, interaction.guild_id)
            record.exc_info, record.exc_text = None, None
        else:
            interaction.extras["outcome"] = "error"
        return True


AUTOCOMPLETE_FAILURES = AutocompleteFailures()


class HeartstopperTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Runs before discord.py reads the options (and before autocomplete): what has waited
        # too long to be answered in time is left alone, and every command sees text it can
        # store and send.
        if shed_if_late(interaction):
            return False
        if interaction.data is not None:
            # The gateway's JSON object, rewritten key by key whichever kind of interaction.
            data = cast("dict[str, object]", interaction.data)
            for key in ("options", "resolved"):
                if key in data:
                    data[key] = _scrub(data[key])
        return True

    async def _call(self, interaction: discord.Interaction) -> None:
        # Every slash command and autocomplete passes here: counted and timed for /metrics, and
        # its id is on every log line logged while it runs (LOG_FORMAT=json).
        token = interaction_context.set(interaction.id)
        handling = _handling.set(interaction)
        started = time.perf_counter()
        outcome = "ok"
        try:
            await super()._call(interaction)
        except app_commands.CommandNotFound:
            outcome = "unknown_command"
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            interaction_context.reset(token)
            _handling.reset(handling)
            outcome = interaction.extras.get("outcome", outcome)
            client = self.client
            metrics = getattr(client, "metrics", None)
            if metrics is not None:
                command = interaction.command
                data = interaction.data
                name = (command.qualified_name if command is not None
                        else str(data.get("name", "unknown")) if data is not None
                        else "unknown")
                kind = ("autocomplete"
                        if interaction.type is discord.InteractionType.autocomplete
                        else "command")
                metrics.interaction_done(name, kind, outcome, time.perf_counter() - started)

    async def on_error(self, interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
        interaction.extras["outcome"] = ("expired" if expired(error)
                                         else "error" if user_message(error) is None
                                         else "refused")
        await report_error(interaction, error)


class HeartstopperBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        extensions: list[str] | None = None,
        sync_dev_guild: bool = True,
        run_services: bool = True,
        clock: Callable[[], datetime] | None = None,
        lease_timing: LeaseTiming | None = None,
        freeze_startup_heap: bool = False,
        **options,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # servers and channels: nothing privileged
        # WEBHOOKS_UPDATE: a follow-mode channel whose follower webhook is deleted by hand is
        # noticed at once (not privileged; without it, the daily check notices).
        intents.webhooks = True
        options.setdefault("max_ratelimit_timeout", MAX_RATELIMIT_TIMEOUT)
        # What /metrics shows (bot/core/metrics.py), on a registry of this bot's own.
        metrics = BotMetrics()
        options.setdefault("http_trace", metrics.http_trace())
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=HeartstopperTree,
            allowed_mentions=discord.AllowedMentions.none(),
            owner_ids=set(settings.owner_ids) or None,
            **options,
        )
        self.settings = settings
        self.store = store
        # One in-memory character index for every feature that looks characters up.
        self.characters = CharacterDirectory(store)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._extensions = discover_cogs() if extensions is None else extensions
        self._sync_dev_guild = sync_dev_guild
        # False for one-off CLI work (`sync`): cogs then skip background services such as news
        # delivery or the daily quote, which only a serving process runs (and of several
        # serving one database, only the one holding the lease below).
        self.run_services = run_services
        # Which process of those serving this database runs the background work: cogs add
        # theirs here (when run_services), and it runs while this process holds the lease. A
        # process without SHARD_IDS serves the database alone (its serving lock says so).
        self.background = Leadership(
            store.database, info=process_description(settings.shards_text),
            shard_count=settings.shard_count if settings.sharded else None,
            alone=settings.shard_ids is None, timing=lease_timing)
        # Automatic backups (cogs/backups.py sets it): .last, .made, .failed for metrics.
        self.backups: Backups | None = None
        self.metrics = metrics
        tree_log = logging.getLogger("discord.app_commands.tree")
        if AUTOCOMPLETE_FAILURES not in tree_log.filters:
            tree_log.addFilter(AUTOCOMPLETE_FAILURES)
        # Interactions that waited too long here to be answered in time are left unanswered.
        self.lateness = Lateness()
        # The news feature's engine, handed in by cogs/news.py when it loads: what a graceful
        # stop drains and what /healthz and /metrics read.
        self.news_engine: NewsEngine | None = None
        self.health_server: HealthServer | None = None
        self.stopping = False  # set by shutdown(): finishing what is in flight
        # For the serving process only (`run`): see on_ready. Not in tests, which start many
        # bots in one process, each of which would then never be collected.
        self._freeze_startup_heap = freeze_startup_heap

    async def setup_hook(self) -> None:
        for extension in self._extensions:
            await self.load_extension(extension)
        log.info("loaded %d feature modules", len(self._extensions))
        if self.run_services:
            await self.background.start()
        if self.settings.metrics_port is not None and self.run_services:
            server = HealthServer(self, self.settings.metrics_host, self.settings.metrics_port)
            await server.start()
            self.health_server = server
        if self._sync_dev_guild and self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to the development guild", len(synced))

    def serves(self, guild_id: int) -> bool:
        """Whether `guild_id` is on a shard of this process (with SHARD_IDS, other processes
        serve the rest; Discord puts a server on shard (id >> 22) % SHARD_COUNT)."""
        ids, count = self.settings.shard_ids, self.settings.shard_count
        return ids is None or count is None or (guild_id >> 22) % count in ids

    async def is_owner(self, user: discord.abc.User) -> bool:
        if self.settings.owner_ids:
            return user.id in self.settings.owner_ids
        return await super().is_owner(user)

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers", self.user, len(self.guilds))
        if self._freeze_startup_heap:
            self._freeze_startup_heap = False
            # What start-up built (the caches of servers and channels, the character index,
            # the loaded modules) lives as long as the process: out of the garbage
            # collector's full passes, which would otherwise walk all of it again and again
            # while interactions wait (CPython's gc.freeze, for long-lived servers).
            gc.collect()
            gc.freeze()
            log.info("%d start-up objects frozen out of garbage collection",
                      gc.get_freeze_count())

    async def shutdown(self, drain: float = GRACEFUL_DRAIN_SECONDS) -> int:
        """Stop gracefully (SIGTERM, SIGINT): claim no more news deliveries, let the sends in
        flight finish for up to `drain` seconds and hand the rest back to the outbox, then
        close, which stops the feed poller, the quote of the day and the search index's upkeep
        (each cog's unload) and the gateway. Returns how many deliveries were handed back."""
        if self.stopping or self.is_closed():
            return 0
        self.stopping = True
        log.info("stopping: letting news sends in flight finish (at most %g s)", drain)
        handed_back = 0
        engine = self.news_engine
        try:
            if engine is not None:
                handed_back = await engine.drain(drain)
        finally:
            await self.close()
        return handed_back

    async def close(self) -> None:
        try:
            # First: the work stops and the lease is given up, so another process serving
            # this database takes the work over at its next look.
            await self.background.stop()
        except Exception:
            log.exception("could not stop the background work cleanly")
        try:
            await super().close()
        finally:
            server, self.health_server = self.health_server, None
            if server is not None:
                await asyncio.shield(server.stop())


class ShardedHeartstopperBot(HeartstopperBot, commands.AutoShardedBot):
    """The same bot on several gateway connections (shards), as discord.py's AutoShardedBot
    does it: all of them in this process, or the slice SHARD_IDS names while other processes
    run the rest. Discord requires sharding above 2,500 servers."""

    def __init__(self, settings: Settings, store: Store, **options) -> None:
        options.setdefault("shard_count", settings.shard_count)  # None: ask Discord
        if settings.shard_ids is not None:  # a slice; other processes run the rest
            options.setdefault("shard_ids", list(settings.shard_ids))
        super().__init__(settings, store, **options)


def bot_class(settings: Settings) -> type[HeartstopperBot]:
    return ShardedHeartstopperBot if settings.sharded else HeartstopperBot
