"""Checks commands share."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.core.errors import UserFacingError


async def require_bot_owner(bot: commands.Bot, interaction: discord.Interaction,
                            refusal: str) -> None:
    """Owner-only commands: `OWNER_IDS`, or the application's owners (`bot.is_owner`), checked
    by the bot itself whatever a server's command permissions say. `refusal` says why the
    command is owners' only."""
    if not await bot.is_owner(interaction.user):
        raise UserFacingError(refusal)
