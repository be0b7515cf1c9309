"""Automatic database backups (BACKUP_DIR, BACKUP_KEEP): the daily backup starts and stops with
this cog, in the serving process only. The work lives in bot/core/backups.py; `bot.backups`
(last, made, failed) is what `/news status` and the metrics read."""

from __future__ import annotations

from discord.ext import commands

from bot.client import HeartstopperBot
from bot.core.backups import Backups


class AutomaticBackups(commands.Cog):
    def __init__(self, bot: HeartstopperBot) -> None:
        self.bot = bot
        self.backups = Backups(bot.settings)
        bot.backups = self.backups

    async def cog_load(self) -> None:
        if self.bot.run_services:  # started in the process that leads (bot/core/leadership.py)
            self.bot.background.add("backups", self.backups.start, self.backups.stop)

    async def cog_unload(self) -> None:
        await self.backups.stop()


async def setup(bot: HeartstopperBot) -> None:
    await bot.add_cog(AutomaticBackups(bot))
