"""Runs the real HeartstopperBot against the local emulator: for end-to-end tests, the
playground and benchmarks. Restartable on the same database, as a crash-and-restart would be."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.canon.seeding import load_seed
from bot.client import HeartstopperBot
from bot.core.config import Settings
from bot.store import Store
from emulator import Emulator
from emulator.testing import start_client, stop_client

# discord.py waits this long after the last GUILD_CREATE before it is ready (default 2 s).
FAST_GUILD_READY = 0.05


class BotRunner:
    """One bot process's worth of state (store + client) on a running emulator."""

    def __init__(self, emu: Emulator, settings: Settings, *,
                 clock: Callable[[], datetime] | None = None, **bot_options: Any) -> None:
        # `bot_options`: HeartstopperBot's keyword arguments (and through it commands.Bot's).
        self.emu = emu
        self.settings = settings
        self.clock = clock
        self.bot_options = bot_options
        self.store: Store | None = None
        self.bot: HeartstopperBot | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, sync: bool = True) -> HeartstopperBot:
        store = await Store.open(self.settings.database_path)
        try:
            if not await store.canon.is_seeded():
                await store.canon.apply_seed(load_seed(self.settings.seed_dir))
        except BaseException:
            await store.close()
            raise
        options = {"guild_ready_timeout": FAST_GUILD_READY, **self.bot_options}
        bot = HeartstopperBot(self.settings, store, clock=self.clock, **options)
        self.store, self.bot = store, bot
        try:
            self._task = await start_client(bot, self.emu, token=self.settings.token)
        except BaseException:
            await self.stop()
            raise
        if sync:
            await bot.tree.sync()
        return bot

    async def stop(self) -> None:
        if self.bot is not None:
            await stop_client(self.bot, self._task)
        if self.store is not None:
            await self.store.close()
        self.bot = self.store = self._task = None

    async def restart(self) -> HeartstopperBot:
        await self.stop()
        return await self.start(sync=False)


# The names discord.py gives the tasks running an interaction's handler: a slash command, a
# view's button, a DynamicItem's button, a modal.
_HANDLER_TASKS = ("CommandTree-invoker", "discord-ui-")


async def cancel_handlers() -> int:
    """Cancel the bot's interaction handlers still running in this process (for a shutdown
    that no longer waits for their answers), and wait for them to end; how many there were."""
    running = [t for t in asyncio.all_tasks() if not t.done()
               and t.get_name().startswith(_HANDLER_TASKS)]
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running, timeout=2.0)
    return len(running)


def emulator_settings(settings: Settings, emu: Emulator) -> Settings:
    return dataclasses.replace(settings, token=emu.config.token, api_base=emu.api_base,
                               gateway_url=emu.gateway_url)
