"""/about: what the bot is and what it knows. Also the latency baseline for benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.canon.about import about_embed
from bot.canon.models import StoreStats
from bot.client import HeartstopperBot
from bot.core.ui import reply

# Counting a large store holds the read connection that every other command's reads wait on;
# the card's counts need not be up to the second.
STATS_MAX_AGE = timedelta(seconds=60)


class About(commands.Cog):
    def __init__(self, bot: HeartstopperBot) -> None:
        self.bot = bot
        self._stats: tuple[datetime, StoreStats] | None = None

    async def _recent_stats(self) -> StoreStats:
        now = self.bot.clock()
        if self._stats is None or now - self._stats[0] > STATS_MAX_AGE:
            self._stats = (now, await self.bot.store.stats())
        return self._stats[1]

    @app_commands.command(name="about", description="What this bot does and what it knows")
    async def about(self, interaction: discord.Interaction) -> None:
        stats = await self._recent_stats()
        await reply(interaction, embed=about_embed(stats, len(self.bot.guilds)))


async def setup(bot: HeartstopperBot) -> None:
    await bot.add_cog(About(bot))
