"""The engine's only contact with Discord: every request it makes goes through here, paced by
the shared token bucket and bounded by a timeout."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

import discord

from bot.core.dm import DMResult, send_dm
from bot.core.errors import NO_MENTIONS
from bot.news.models import NewsSubscription
from bot.news.permissions import can_speak, missing_post_permissions
from bot.news.render import NewsMessage, is_post_of, pause_notice

log = logging.getLogger(__name__)
T = TypeVar("T")

# Messages read back, at most, when looking for a post whose outcome was lost (100 a request).
LOOK_BACK_MESSAGES = 1000
# Discord's clock and ours may disagree a little: look from a bit before the try.
CLOCK_SKEW = timedelta(minutes=2)


class CannotCheck(Exception):
    """The bot cannot read the channel back to find out whether a post went out."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"missing {', '.join(missing)} (needed to check for an earlier post)")
        self.missing = missing


class DiscordTransport:
    def __init__(self, client: discord.Client, *, pace: Callable[[], Awaitable[None]],
                 timeout: float) -> None:
        self._client = client
        self._pace = pace
        self._timeout = timeout

    async def _request(self, call: Callable[[], Awaitable[T]]) -> T:
        await self._pace()
        # asyncio.timeout rather than wait_for, which on 3.11 can swallow a cancellation.
        async with asyncio.timeout(self._timeout):
            return await call()

    async def send(self, sub: NewsSubscription, message: NewsMessage, nonce: str) -> int:
        """Post; with the nonce Discord returns the first message again if this is a re-send
        (discord.py adds `enforce_nonce: true` whenever a nonce is given)."""
        channel = self._client.get_partial_messageable(sub.channel_id, guild_id=sub.guild_id)
        sent = await self._request(lambda: channel.send(
            content=message.content, embed=message.embed,
            allowed_mentions=message.allowed_mentions, nonce=nonce,
        ))
        return sent.id

    async def find_sent(self, sub: NewsSubscription, item_id: int,
                        since: datetime) -> int | None:
        """The id of the bot's own post of this item in the channel, made after `since`, or
        None. Raises CannotCheck when the bot may not read the channel's history: Discord then
        answers with an empty list, which would look like 'not sent'."""
        guild = self._client.get_guild(sub.guild_id)
        _, perms = self._perms(guild, sub.channel_id)
        if perms is not None and not (perms.view_channel and perms.read_message_history):
            raise CannotCheck(missing_post_permissions(perms))
        me = self._client.user
        assert me is not None
        channel = self._client.get_partial_messageable(sub.channel_id, guild_id=sub.guild_id)
        after: discord.abc.Snowflake = discord.Object(
            id=discord.utils.time_snowflake(since - CLOCK_SKEW))
        seen = 0
        while seen < LOOK_BACK_MESSAGES:
            page = await self._request(partial(self._page, channel, after))
            for message in page:
                if message.author.id == me.id and is_post_of(
                        [e.footer.text for e in message.embeds], item_id):
                    return message.id
            seen += len(page)
            if len(page) < 100:
                return None
            after = page[-1]
        log.warning("looked through %d messages in channel %s without finding news item %s; "
                    "posting it", seen, sub.channel_id, item_id)
        return None

    @staticmethod
    async def _page(channel: discord.PartialMessageable,
                    after: discord.abc.Snowflake) -> list[discord.Message]:
        return [m async for m in channel.history(limit=100, after=after, oldest_first=True)]

    async def publish(self, sub: NewsSubscription, message_id: int) -> None:
        channel = self._client.get_partial_messageable(sub.channel_id, guild_id=sub.guild_id)
        await self._request(lambda: channel.get_partial_message(message_id).publish())

    def _perms(self, guild: discord.Guild | None,
               channel_id: int) -> tuple[discord.abc.GuildChannel | None,
                                          discord.Permissions | None]:
        if guild is None:
            return None, None
        channel = guild.get_channel(channel_id)
        if channel is None or guild.me is None:
            return channel, None
        return channel, channel.permissions_for(guild.me)

    def post_problems(self, sub: NewsSubscription) -> list[str] | None:
        """What the bot's cached permissions say is missing in the channel (None: unknown)."""
        _, perms = self._perms(self._client.get_guild(sub.guild_id), sub.channel_id)
        return None if perms is None else missing_post_permissions(perms)

    async def tell_paused(self, sub: NewsSubscription, reason: str) -> str | None:
        """Tell the server its news is paused: in the channel if the bot can still speak
        there, else in its system channel, else to whoever subscribed. Returns where."""
        guild = self._client.get_guild(sub.guild_id)
        channel, perms = self._perms(guild, sub.channel_id)
        text = pause_notice(sub.channel_id, missing=missing_post_permissions(perms)
                            if perms is not None else [], reason=reason)
        targets: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        if (isinstance(channel, discord.abc.Messageable) and perms is not None
                and can_speak(perms)):
            targets.append(("the channel", lambda: channel.send(text,
                                                                allowed_mentions=NO_MENTIONS)))
        system = guild.system_channel if guild is not None else None
        if system is not None and system.id != sub.channel_id:
            _, system_perms = self._perms(guild, system.id)
            if system_perms is not None and can_speak(system_perms):
                targets.append(("the system channel",
                                lambda: system.send(text, allowed_mentions=NO_MENTIONS)))
        for where, attempt in targets:
            try:
                await self._request(attempt)
            except (discord.HTTPException, TimeoutError) as exc:
                log.info("could not tell guild %s about paused news in %s: %s", sub.guild_id,
                         where, exc)
                continue
            return where
        subscriber = sub.subscribed_by
        if subscriber is not None and await send_dm(
                self._client, subscriber, text, pace=self._pace) is DMResult.SENT:
            return "the member who subscribed"
        log.warning("news paused in channel %s (guild %s) and nobody could be told",
                    sub.channel_id, sub.guild_id)
        return None
