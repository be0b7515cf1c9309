"""The bot: a `commands.Bot` that is handed its settings and store, as discord.py's
`examples/advanced_startup.py` does, and loads one cog per feature from `cogs/`."""

from __future__ import annotations

import logging
import pkgutil
from collections.abc import Callable
from datetime import UTC, datetime

import discord
import yarl
from discord import app_commands
from discord.ext import commands

import cogs
from bot.characters.directory import CharacterDirectory
from bot.core.config import Settings
from bot.core.errors import report_error
from bot.core.text import without_lone_surrogates
from bot.store import Store

log = logging.getLogger(__name__)

# A publish can be told to wait many minutes; never let one call sleep that long (the news
# engine catches discord.RateLimited and reschedules instead).
MAX_RATELIMIT_TIMEOUT = 30.0


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
    """Every string in an interaction's data with lone surrogates replaced (U+FFFD). Discord's
    JSON can carry them ('\\ud83d'); SQLite, UTF-8 and Discord itself refuse them later, as a
    crash far from the input."""
    if isinstance(value, str):
        return without_lone_surrogates(value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


class HeartstopperTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Runs before discord.py reads the options (and before autocomplete), so every command
        # sees text it can store and send.
        data = interaction.data
        if data is not None:
            for key in ("options", "resolved"):
                if key in data:
                    data[key] = _scrub(data[key])  # type: ignore[literal-required]
        return True

    async def on_error(self, interaction: discord.Interaction,
                       error: app_commands.AppCommandError) -> None:
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
        **options,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # the only intent the features need; nothing privileged
        options.setdefault("max_ratelimit_timeout", MAX_RATELIMIT_TIMEOUT)
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
        # delivery or the daily quote, which must only run in the one serving process.
        self.run_services = run_services

    async def setup_hook(self) -> None:
        for extension in self._extensions:
            await self.load_extension(extension)
        log.info("loaded %d feature modules", len(self._extensions))
        if self._sync_dev_guild and self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to the development guild", len(synced))

    async def is_owner(self, user: discord.abc.User) -> bool:
        if self.settings.owner_ids:
            return user.id in self.settings.owner_ids
        return await super().is_owner(user)

    async def on_ready(self) -> None:
        log.info("ready as %s in %d servers", self.user, len(self.guilds))


class ShardedHeartstopperBot(HeartstopperBot, commands.AutoShardedBot):
    """The same bot on several gateway connections (shards) in one process, as discord.py's
    AutoShardedBot does it; Discord requires sharding above 2,500 servers."""

    def __init__(self, settings: Settings, store: Store, **options) -> None:
        options.setdefault("shard_count", settings.shard_count)  # None: ask Discord
        super().__init__(settings, store, **options)


def bot_class(settings: Settings) -> type[HeartstopperBot]:
    return ShardedHeartstopperBot if settings.sharded else HeartstopperBot
