"""The Discord edge every feature shares: the one way a command replies, and views whose
buttons use the same error path as commands (and may belong to whoever ran the command)."""

from __future__ import annotations

from typing import Any, TypeVar

import discord
from discord.ext import commands

from bot.core.errors import NO_MENTIONS, report_error
from bot.core.lateness import shed_if_late


async def reply(interaction: discord.Interaction, content: str | None = None, *,
                embed: discord.Embed = discord.utils.MISSING,
                embeds: list[discord.Embed] = discord.utils.MISSING,
                view: discord.ui.View = discord.utils.MISSING,
                ephemeral: bool = True) -> None:
    """Answer an interaction: only to the member who asked unless `ephemeral=False`, and never
    a ping, whatever the text holds. After a defer, the answer is the follow-up (whose
    visibility the defer already chose)."""
    if interaction.response.is_done():
        await interaction.followup.send(content or discord.utils.MISSING, embed=embed,
                                        embeds=embeds, view=view, ephemeral=ephemeral,
                                        allowed_mentions=NO_MENTIONS)
        return
    await interaction.response.send_message(content, embed=embed, embeds=embeds, view=view,
                                            ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)


Actions = TypeVar("Actions")


def feature_cog(interaction: discord.Interaction, name: str, actions: type[Actions]) -> Actions:
    """The loaded cog `name`, as the `actions` protocol (runtime-checkable) its buttons call:
    bot/ imports nothing from cogs/."""
    client = interaction.client
    cog = client.get_cog(name) if isinstance(client, commands.Bot) else None
    if not isinstance(cog, actions):
        raise RuntimeError(f"the {name} cog is not loaded")
    return cog


def dynamic_view(*items: discord.ui.DynamicItem[Any]) -> discord.ui.View:
    """A view of DynamicItems only, which presses reach through `bot.add_dynamic_items`
    whatever message they are on. It is finished before it is sent, so discord.py keeps
    nothing for it: an unfinished view is stored per message, and on an ephemeral reply
    given a 15-minute timeout with a sleeping task of its own."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    view.stop()
    return view


class BaseView(discord.ui.View):
    """A view whose failures reach `report_error` instead of discord.py's default logger."""

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Any]) -> None:
        await report_error(interaction, error)


NOT_YOURS = "These buttons belong to whoever ran the command; run it yourself to get your own."


async def pressed_by_owner(interaction: discord.Interaction, owner_id: int) -> bool:
    """The one "these buttons belong to whoever ran the command" check, for views and for
    persistent buttons alike: refuses anyone else, privately. A press that waited here too
    long to be answered in time is left unanswered (bot/core/lateness.py)."""
    if shed_if_late(interaction):
        return False
    if interaction.user.id == owner_id:
        return True
    await reply(interaction, NOT_YOURS)
    return False


class OwnedView(BaseView):
    """A view only the member who asked for it may press."""

    def __init__(self, owner_id: int, *, timeout: float | None = 600) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await pressed_by_owner(interaction, self.owner_id)
