"""Telling the bot's owners something by DM (a feed was disabled). Owners are OWNER_IDS, or else
the application's owner or its team's members, as `bot.is_owner` sees them. An owner with
closed DMs, or Discord failing, only costs a log line."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord.ext import commands

from bot.core.dm import DMResult, send_dm

log = logging.getLogger(__name__)
_TIMEOUT = 30.0


async def owner_ids(bot: commands.Bot, configured: frozenset[int]) -> set[int]:
    if configured:
        return set(configured)
    if bot.owner_ids:
        return set(bot.owner_ids)
    if bot.owner_id is not None:
        return {bot.owner_id}
    app = await bot.application_info()
    if app.team is not None:
        return {member.id for member in app.team.members}
    return {app.owner.id}


async def tell_owners(bot: commands.Bot, configured: frozenset[int], text: str) -> int:
    """DM every owner `text`; returns how many got it."""
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the cancellation that
        # bot.close() sends, leaving shutdown hanging.
        async with asyncio.timeout(_TIMEOUT):
            targets = await owner_ids(bot, configured)
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not find out who the bot's owners are: %s", exc)
        return 0
    told = 0
    for user_id in sorted(targets):
        told += await send_dm(bot, user_id, text, within=_TIMEOUT) is DMResult.SENT
    return told
