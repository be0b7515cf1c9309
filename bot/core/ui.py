"""Shared component plumbing, so buttons and selects use the same error path as commands."""

from __future__ import annotations

from typing import Any

import discord

from bot.core.errors import report_error


class BaseView(discord.ui.View):
    """A view whose failures reach `report_error` instead of discord.py's default logger."""

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any]) -> None:
        await report_error(interaction, error)


class OwnedView(BaseView):
    """A view only the member who asked for it may press."""

    def __init__(self, owner_id: int, *, timeout: float | None = 600) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These buttons belong to whoever ran the command; run it yourself to get your own.",
                ephemeral=True,
            )
            return False
        return True
