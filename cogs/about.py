"""/about: what the bot is and what it knows. Also the latency baseline for benchmarks."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import HeartstopperBot
from bot.render.about import about_embed


class About(commands.Cog):
    def __init__(self, bot: HeartstopperBot) -> None:
        self.bot = bot

    @app_commands.command(name="about", description="What this bot does and what it knows")
    async def about(self, interaction: discord.Interaction) -> None:
        stats = await self.bot.store.stats()
        await interaction.response.send_message(embed=about_embed(stats, len(self.bot.guilds)),
                                                ephemeral=True)


async def setup(bot: HeartstopperBot) -> None:
    await bot.add_cog(About(bot))
