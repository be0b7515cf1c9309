"""Follow mode: channels that follow the operator's news hub through Discord's channel following.

The hub (NEWS_HUB_CHANNEL_ID) is an announcement channel that gets every news item through the
outbox, published; Discord then copies each published post into every channel that follows
it, at no cost to the bot's requests. Following is a webhook of type 2 in the target channel:
the bot creates it (`TextChannel.follow`), keeps its id, removes only that one, and looks now
and then whether it still exists, since a server can delete it by hand.

Every request here waits its turn at the news pacer, like the engine's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import discord

from bot.core.database import StoreUnavailable
from bot.core.errors import UserFacingError
from bot.news.models import NewsSubscription
from bot.news.permissions import missing_post_permissions
from bot.news.store import FOLLOW_REMOVED, HUB_MOVED, HUB_OFF

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_WEBHOOKS = 30007
UNKNOWN_CHANNEL = 10003
UNKNOWN_WEBHOOK = 10015


@dataclass(frozen=True, slots=True)
class FollowTiming:
    # Each follower webhook is looked for about once a day (a deletion by hand fires no event
    # the bot receives with only the guilds intent), a batch per round so that even 100,000
    # follows cost about one request a second.
    check_every: float = 86400.0
    round_every: float = 60.0  # real seconds between rounds
    batch: int = 100
    # /news subscriptions looks at this server's follows itself, at most this many.
    checks_per_listing: int = 5


class HubFollowing:
    def __init__(self, client: discord.Client, store: Store, *, hub_channel_id: int | None,
                 pace: Callable[[], Awaitable[None]], clock: Callable[[], datetime],
                 timing: FollowTiming | None = None) -> None:
        self._client = client
        self._store = store
        self.hub_channel_id = hub_channel_id
        self._pace = pace
        self._clock = clock
        self.timing = timing or FollowTiming()
        self._task: asyncio.Task[None] | None = None
        self._fetched_hub: discord.TextChannel | None = None
        # Follower webhooks this process deleted itself (unsubscribing, switching modes): the
        # WEBHOOKS_UPDATE that deletion fires must not end the subscription being changed.
        self._deleted_here: set[int] = set()

    @property
    def enabled(self) -> bool:
        return self.hub_channel_id is not None

    async def _request(self, call: Callable[[], Awaitable[T]]) -> T:
        await self._pace()
        return await call()

    # ---- the hub --------------------------------------------------------------------------

    def hub(self) -> discord.TextChannel | None:
        if self.hub_channel_id is None:
            return None
        channel = self._client.get_channel(self.hub_channel_id)
        if isinstance(channel, discord.TextChannel):
            return channel
        return self._fetched_hub

    async def resolve_hub(self) -> discord.TextChannel | None:
        """The hub channel, also when its server is on a shard another process runs (with
        SHARD_IDS): then it is fetched once over REST, which needs no gateway connection."""
        hub, hub_id = self.hub(), self.hub_channel_id
        if hub is not None or hub_id is None:
            return hub
        try:
            channel = await self._request(lambda: self._client.fetch_channel(hub_id))
        except discord.HTTPException as exc:
            log.debug("news hub: channel %s could not be fetched: %s", self.hub_channel_id, exc)
            return None
        if isinstance(channel, discord.TextChannel):
            self._fetched_hub = channel
        return self._fetched_hub

    def hub_name(self) -> str:
        hub = self.hub()
        return f"{hub.guild.name} #{hub.name}" if hub is not None else "the news hub"

    async def ensure_hub(self) -> NewsSubscription | None:
        """Make the hub a subscription of its own (posted and published like any channel), or
        end the old one when the setting is gone. Called once the bot is ready."""
        now = self._clock()
        if self.hub_channel_id is None:
            if await self._store.news.end_hubs("NEWS_HUB_CHANNEL_ID is not set", now):
                log.info("news hub: NEWS_HUB_CHANNEL_ID is not set; the old hub ended")
            return None
        hub = await self.resolve_hub()
        if hub is None:
            log.error("news hub: channel %s (NEWS_HUB_CHANNEL_ID) is not a text channel the bot "
                      "can see; news is not posted to the hub, so following channels get none",
                      self.hub_channel_id)
            return None
        if not hub.is_news():
            log.error("news hub: #%s (NEWS_HUB_CHANNEL_ID) is not an announcement channel, so "
                      "its posts cannot be published to followers; make it one", hub.name)
            return None
        me = hub.guild.me  # None when the hub's server is on another process's shard
        missing = missing_post_permissions(hub.permissions_for(me)) if me is not None else []
        if missing:
            log.warning("news hub: the bot is missing %s in #%s; hub posts wait until granted",
                        ", ".join(missing), hub.name)
        return await self._store.news.ensure_hub(hub.guild.id, hub.id, now)

    # ---- following and unfollowing --------------------------------------------------------

    async def follow(self, target: discord.TextChannel) -> int:
        """Make `target` follow the hub; returns the follower webhook's id. A follow the bot
        made earlier (and lost track of: a crash before it was recorded) is taken over rather
        than doubled; one a server admin made by hand is left to them."""
        hub = await self.resolve_hub()
        if hub is None or not hub.is_news():
            raise UserFacingError("Follow mode is not available right now: the bot's news hub "
                                  "channel cannot be reached. Use the default mode, or ask the "
                                  "bot's operator.")
        me = self._client.user
        assert me is not None
        try:
            existing = await self._request(target.webhooks)
        except discord.Forbidden:
            raise self._no_manage_webhooks(target) from None
        for hook in existing:
            if (hook.type is discord.WebhookType.channel_follower
                    and hook.source_channel is not None and hook.source_channel.id == hub.id):
                if hook.user is not None and hook.user.id == me.id:
                    return hook.id
                raise UserFacingError(
                    f"{target.mention} already follows the news hub (**{hub.guild.name} "
                    f"#{hub.name}**) through a follow someone set up by hand, so it already "
                    "gets every item. To have me manage it instead, remove that follow first "
                    "(channel settings > Integrations), then run this again.")
        try:
            webhook = await self._request(lambda: hub.follow(
                destination=target, reason="Heartstopper news: /news subscribe mode:follow"))
        except discord.Forbidden:
            raise self._no_manage_webhooks(target) from None
        except discord.HTTPException as exc:
            if exc.code == MAX_WEBHOOKS:
                raise UserFacingError(
                    f"{target.mention} already has as many webhooks as Discord allows (15), "
                    "and following the hub needs one more. Delete one in channel settings > "
                    "Integrations > Webhooks, or use the default mode.") from None
            raise
        log.info("channel %s now follows the news hub (webhook %s)", target.id, webhook.id)
        return webhook.id

    @staticmethod
    def _no_manage_webhooks(target: discord.TextChannel) -> UserFacingError:
        return UserFacingError(
            f"I can't make {target.mention} follow the news hub: I'm missing **Manage "
            "Webhooks** there (a follow is a webhook in the channel). Grant it to me "
            "(channel settings > Permissions), then run this again.")

    async def unfollow(self, sub: NewsSubscription, channel: discord.abc.GuildChannel) -> bool:
        """Remove the follower webhook the bot made for this subscription, and only that one.
        False if it was already gone. Raises UserFacingError when the bot may not."""
        if sub.webhook_id is None:
            return False
        return await self.remove_webhook(sub.webhook_id, channel)

    async def remove_webhook(self, webhook_id: int, channel: discord.abc.GuildChannel) -> bool:
        """Delete this follower webhook of the channel (by the id kept when the bot made it)."""
        try:
            webhook = await self._request(lambda: self._client.fetch_webhook(webhook_id))
            if webhook.channel_id != channel.id:
                return False  # moved to another channel by hand: no longer this follow
            self._deleted_here.add(webhook_id)
            await self._request(lambda: webhook.delete(
                reason="Heartstopper news: /news unsubscribe"))
        except discord.NotFound:
            return False
        except discord.Forbidden:
            raise UserFacingError(
                f"I can't stop {channel.mention} following the news hub: I'm missing **Manage "
                "Webhooks** there. Grant it to me, or remove the follow yourself (channel "
                "settings > Integrations > Channels Followed), then run this again.") from None
        log.info("channel %s no longer follows the news hub (webhook %s deleted)",
                 channel.id, webhook_id)
        return True

    # ---- noticing a follow removed by hand ------------------------------------------------

    async def check(self, sub: NewsSubscription) -> bool:
        """Whether the subscription's follower webhook still exists; a follow found gone is
        ended (and shown so in /news subscriptions). A webhook the bot may not look at (no
        Manage Webhooks) is noted and kept; other errors leave it for the next round."""
        now = self._clock()
        if sub.webhook_id in self._deleted_here:
            return True  # the bot removed it itself; the command doing so records the change
        try:
            webhook = await self._request(
                lambda: self._client.fetch_webhook(sub.webhook_id or 0))
        except discord.NotFound as exc:
            gone = ("the channel was deleted" if exc.code == UNKNOWN_CHANNEL
                    else FOLLOW_REMOVED)
            return await self._end(sub, gone, now)
        except discord.Forbidden:
            await self._store.news.follow_checked(
                sub.id, now, "cannot check the follow: missing Manage Webhooks")
            return True
        if webhook.channel_id != sub.channel_id:
            return await self._end(sub, FOLLOW_REMOVED, now)
        source = webhook.source_channel
        if source is None or source.id != self.hub_channel_id:
            # It follows a channel that is no longer the bot's hub (NEWS_HUB_CHANNEL_ID was
            # changed or removed): no news comes that way any more.
            return await self._end(sub, HUB_MOVED if self.enabled else HUB_OFF, now)
        await self._store.news.follow_checked(sub.id, now)
        return True

    async def _end(self, sub: NewsSubscription, reason: str, now: datetime) -> bool:
        # Only that follow: the channel may have switched back to per-channel posts since
        # `sub` was read (the switch deletes the webhook, so it looks gone from here).
        if await self._store.news.end_follow(sub.id, sub.webhook_id, reason, now):
            log.info("news follow of channel %s ended: %s", sub.channel_id, reason)
            return False
        return True

    async def check_guild(self, subs: list[NewsSubscription]) -> None:
        """Before /news subscriptions shows a server's follows: look at a few of them now."""
        follows = [s for s in subs if s.follows and s.state == "active"]
        for sub in follows[:self.timing.checks_per_listing]:
            # The listing answers anyway: the daily round checks again.
            with contextlib.suppress(discord.HTTPException, TimeoutError, StoreUnavailable):
                await self.check(sub)

    async def check_due(self) -> int:
        """One round: the follows least recently checked; returns how many ended."""
        t = self.timing
        due = await self._store.news.follows_due(
            self._clock() - timedelta(seconds=t.check_every), t.batch)
        ended = 0
        for sub in due:
            try:
                ended += not await self.check(sub)
            except (discord.HTTPException, TimeoutError) as exc:
                log.debug("news follow of channel %s not checked: %s", sub.channel_id, exc)
        return ended

    async def _watch(self, ready: Callable[[], Awaitable[object]]) -> None:
        await ready()
        # Background work, so only the process that delivers news sets the hub up (with shard
        # slices, every process sees READY; one is enough).
        try:
            await self.ensure_hub()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("news hub: could not be set up; trying again at the next start")
        while True:
            try:
                await self.check_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("news: checking follows failed; trying again next round")
            await asyncio.sleep(self.timing.round_every)

    def start(self, ready: Callable[[], Awaitable[object]]) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(ready), name="news-follow-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
