"""The one way the bot sends a direct message: open the DM channel, send with no mentions, and
say how it went instead of raising for what a member or Discord decides."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable

import discord

from bot.core.errors import NO_MENTIONS

log = logging.getLogger(__name__)

Pace = Callable[[], Awaitable[None]]


class DMResult(enum.Enum):
    SENT = "sent"
    CLOSED = "closed"  # the member does not accept DMs from the bot (403)
    FAILED = "failed"  # Discord or the network failed; logged


async def send_dm(client: discord.Client, user_id: int, text: str | None = None, *,
                  embed: discord.Embed | None = None, pace: Pace | None = None,
                  within: float = 30.0) -> DMResult:
    """DM `user_id`. `pace`: awaited before each request (the news engine's token bucket, so a
    notice never pushes the bot over Discord's rate limit); opening the channel is a request."""
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        async with asyncio.timeout(within):
            if pace is not None:
                await pace()
            channel = await client.create_dm(discord.Object(id=user_id))
            if pace is not None:
                await pace()
            if embed is None:
                await channel.send(text, allowed_mentions=NO_MENTIONS)
            else:
                await channel.send(text, embed=embed, allowed_mentions=NO_MENTIONS)
    except discord.Forbidden:
        log.info("user %s does not accept DMs from the bot", user_id)
        return DMResult.CLOSED
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not DM user %s: %s", user_id, exc)
        return DMResult.FAILED
    return DMResult.SENT
