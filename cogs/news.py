"""/news: channels subscribe to season news; owners post it; the engine delivers it.

The delivery engine (bot/news/) starts with this cog and stops with it; whatever it had in
flight is resumed from the store the next time it starts.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlparse

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import HeartstopperBot
from bot.core.backups import status_line as backup_status_line
from bot.core.checks import require_bot_owner
from bot.core.config import DISCORD_REQUESTS_PER_SECOND
from bot.core.errors import UserFacingError
from bot.core.leadership import describe_lease
from bot.core.ui import reply
from bot.news import DeliveryTiming, NewsEngine
from bot.news.following import HubFollowing
from bot.news.models import NewsDraft, NewsSubscription
from bot.news.pacer import TokenBucket
from bot.news.permissions import missing_post_permissions
from bot.news.render import (
    FOLLOW_LIMITS,
    LATEST_MAX,
    following_text,
    hub_wait_text,
    latest_embed,
    missing_text,
    status_embed,
    subscribed_text,
    subscriptions_embed,
)
from bot.news.store import HUB_MOVED, HUB_OFF, HubBacklog, HubWait
from bot.news.transport import DiscordTransport
from bot.news.views import PostLatestView
from cogs._news_feeds import NewsFeeds

log = logging.getLogger(__name__)
URL_LIMIT = 512


def _guild(interaction: discord.Interaction) -> discord.Guild:
    if interaction.guild is None:
        raise UserFacingError("This command only works in a server.")
    return interaction.guild


def _require_manage_channels(interaction: discord.Interaction,
                             channel: discord.abc.GuildChannel) -> None:
    # In the target channel, not where the command was typed: Manage Channels granted on one
    # channel must not let a member change another channel's subscription.
    member = interaction.user
    perms = (channel.permissions_for(member) if isinstance(member, discord.Member)
             else interaction.permissions)
    if not (perms.manage_channels or perms.administrator):
        raise UserFacingError("You need the **Manage Channels** permission to change news "
                              "subscriptions.")


def check_url(raw: str) -> str:
    url = raw.strip()
    parsed = urlparse(url)
    if (parsed.scheme not in ("http", "https") or not parsed.netloc
            or any(c.isspace() for c in url) or len(url) > URL_LIMIT):
        raise UserFacingError(f"`url` must be a web address starting with https:// (at most "
                              f"{URL_LIMIT} characters, no spaces). Got: {raw[:80]!r}")
    return url


class News(commands.GroupCog, name="News", group_name="news",
           group_description="Heartstopper season news: subscribe a channel, read the latest"):
    def __init__(self, bot: HeartstopperBot, *, timing: DeliveryTiming | None = None) -> None:
        self.bot = bot
        self.pacer = TokenBucket(bot.settings.news_sends_per_second)
        timing = timing or DeliveryTiming()
        transport = DiscordTransport(bot, pace=self.pacer.acquire,
                                     timeout=timing.request_timeout)
        self.engine = NewsEngine(bot.store, transport, clock=bot.clock, timing=timing,
                                 ready=bot.wait_until_ready)
        # Follow mode (issue 20): channels following NEWS_HUB_CHANNEL_ID through Discord.
        self.following = HubFollowing(bot, bot.store,
                                      hub_channel_id=bot.settings.news_hub_channel_id,
                                      pace=self.pacer.acquire, clock=bot.clock)
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.news_engine = self.engine  # for the graceful stop, /healthz and /metrics
        # Only the serving process delivers: a one-off CLI login must not touch the outbox
        # (it would requeue the serving process's in-flight deliveries).
        if self.bot.run_services:  # started in the process that leads (bot/core/leadership.py)
            self.bot.background.add("news delivery", self.engine.start, self.engine.stop,
                                    wake=self.engine.wake)
            # Also without a hub: it ends the hub of an earlier setting.
            self.bot.background.add(
                "news hub following",
                lambda: self.following.start(self.bot.wait_until_ready),
                self.following.stop)

    async def cog_unload(self) -> None:
        await self.following.stop()
        await self.engine.stop()
        if self.bot.news_engine is self.engine:
            self.bot.news_engine = None

    # ---- commands -------------------------------------------------------------------------

    @app_commands.command(name="subscribe", description="Post new Heartstopper news in a channel "
                          "(needs Manage Channels)")
    @app_commands.describe(
        channel="A text or announcement channel",
        role="A role to ping with each post (optional)",
        publish="Announcement channels: also publish each post to following servers",
        mode="How news arrives: the bot posts it (default), or the channel follows the news hub",
    )
    @app_commands.choices(mode=[
        app_commands.Choice(name="per-channel (default): the bot posts, with role ping and "
                                 "spoiler hiding", value="channel"),
        app_commands.Choice(name="follow the hub: no role ping, no spoiler hiding, shows as "
                                 "from the hub's server", value="follow"),
    ])
    async def subscribe(self, interaction: discord.Interaction, channel: discord.TextChannel,
                        role: discord.Role | None = None, publish: bool = False,
                        mode: str = "channel") -> None:
        guild = _guild(interaction)
        _require_manage_channels(interaction, channel)
        if channel.id == self.following.hub_channel_id:
            raise UserFacingError(f"{channel.mention} is this bot's news hub: it gets every "
                                  "news item already (NEWS_HUB_CHANNEL_ID).")
        if mode == "follow":
            await self._subscribe_follow(interaction, guild, channel, role, publish)
            return
        if publish and not channel.is_news():
            raise UserFacingError(f"{channel.mention} is not an announcement channel, so posts "
                                  "there cannot be published. Pick an announcement channel, or "
                                  "leave `publish` off.")
        missing = missing_post_permissions(channel.permissions_for(guild.me))
        if missing:
            raise UserFacingError(f"I can't post news in {channel.mention}: I'm missing "
                                  f"{missing_text(missing)} there. Grant "
                                  f"{'it' if len(missing) == 1 else 'them'} to me (channel "
                                  "settings > Permissions), then run this again.")
        if role is not None:
            self._check_role(role, channel, guild, interaction.user)
        store = self.bot.store
        before = await store.news.subscription(channel.id)
        unfollowed = False
        if before is not None and before.follows and before.state != "ended":
            # Switching back from follow mode: the follow goes first, or the channel would
            # get every item twice (Discord's copy and the bot's post).
            unfollowed = await self.following.unfollow(before, channel)
        await self._drop_old_hub_follow(before, channel)
        sub = await store.news.subscribe(guild.id, channel.id,
                                         role_id=role.id if role else None, publish=publish,
                                         subscribed_by=interaction.user.id, now=self.bot.clock())
        latest = await store.news.latest(1)
        renewed = (before is not None and before.state != "ended" and not before.follows)
        text = subscribed_text(sub, renewed=renewed, has_latest=bool(latest))
        if unfollowed:
            text += " It no longer follows the news hub."
        if latest:
            view = PostLatestView(self.engine, sub, latest[0].id, interaction.user.id)
            view.interaction = interaction
            await reply(interaction, text, view=view)
        else:
            await reply(interaction, text)

    @staticmethod
    def _check_role(role: discord.Role, channel: discord.TextChannel,
                    guild: discord.Guild, member: discord.abc.User) -> None:
        if role.is_default():
            raise UserFacingError("News cannot ping @everyone: pick a role people can join "
                                  "(or leave `role` empty).")
        if not role.mentionable and not channel.permissions_for(guild.me).mention_everyone:
            raise UserFacingError(
                f"I can't ping {role.mention}: it is not mentionable and I don't have "
                "**Mention @everyone, @here, and All Roles** there. Turn on *Allow anyone to "
                "@mention this role* in the role's settings (or grant me that permission), "
                "then run this again."
            )
        if (not role.mentionable and isinstance(member, discord.Member)
                and not channel.permissions_for(member).mention_everyone):
            # Otherwise a member could have every news post ping a role they can't ping.
            raise UserFacingError(
                f"{role.mention} is not mentionable, and you don't have **Mention @everyone, "
                "@here, and All Roles** there yourself, so you can't set it as the news ping."
            )

    async def _subscribe_follow(self, interaction: discord.Interaction, guild: discord.Guild,
                                channel: discord.TextChannel, role: discord.Role | None,
                                publish: bool) -> None:
        if not self.following.enabled:
            raise UserFacingError("Follow mode is not available on this bot: its operator has "
                                  "not set up a news hub channel. Leave `mode` out to have the "
                                  "bot post the news in the channel.")
        if role is not None or publish:
            raise UserFacingError(f"In follow mode {FOLLOW_LIMITS}, and the channel cannot "
                                  "publish what it follows: leave `role` and `publish` out, or "
                                  "use the default mode for them.")
        perms = channel.permissions_for(guild.me)
        missing = [name for ok, name in ((perms.view_channel, "View Channel"),
                                         (perms.manage_webhooks, "Manage Webhooks")) if not ok]
        if missing:
            raise UserFacingError(f"I can't make {channel.mention} follow the news hub: I'm "
                                  f"missing {missing_text(missing)} there (a follow is a "
                                  "webhook in the channel). Grant "
                                  f"{'it' if len(missing) == 1 else 'them'} to me (channel "
                                  "settings > Permissions), then run this again.")
        store = self.bot.store
        # Items the bot posted here that the hub has yet to publish would come twice.
        wait = await store.news.hub_wait(channel.id)
        if wait is not None:
            raise await self._hub_wait_refusal(channel.id, wait)
        before = await store.news.subscription(channel.id)
        await self._drop_old_hub_follow(before, channel)
        webhook_id = await self.following.follow(channel)
        try:
            sub = await store.news.subscribe(guild.id, channel.id, role_id=None, publish=False,
                                             subscribed_by=interaction.user.id,
                                             now=self.bot.clock(), mode="follow",
                                             webhook_id=webhook_id)
        except Exception as exc:
            # Not recorded: a follow nobody knows about would outlive an unsubscribe.
            if before is None or before.webhook_id != webhook_id:
                try:
                    await self.following.remove_webhook(webhook_id, channel)
                except (UserFacingError, discord.HTTPException) as undo:
                    log.warning("could not undo the follow of channel %s: %s", channel.id,
                                undo)
            if isinstance(exc, HubBacklog):  # a send started since the look above
                raise await self._hub_wait_refusal(channel.id, exc.wait) from None
            raise
        live_before = before is not None and before.state != "ended"
        text = following_text(
            sub, hub_name=self.following.hub_name(),
            renewed=live_before and before is not None and before.follows,
            switched=live_before and before is not None and not before.follows)
        await reply(interaction, text)

    async def _drop_old_hub_follow(self, before: NewsSubscription | None,
                                   channel: discord.TextChannel) -> None:
        """A follow that ended because the hub moved still follows the old hub channel: when
        the channel subscribes again, that webhook (the bot's own) goes too, so nothing the
        old channel publishes later lands there."""
        if (before is None or not before.follows or before.state != "ended"
                or before.end_reason not in (HUB_MOVED, HUB_OFF)):
            return
        try:
            await self.following.unfollow(before, channel)
        except (UserFacingError, discord.HTTPException) as exc:
            log.info("old follow of channel %s not removed: %s", channel.id, exc)

    async def _hub_wait_refusal(self, channel_id: int, wait: HubWait) -> UserFacingError:
        eta = await self.engine.hub_publish_eta(wait)
        return UserFacingError(hub_wait_text(channel_id, [t for _, t in wait.items], eta=eta,
                                             now=self.bot.clock()))

    @app_commands.command(name="unsubscribe", description="Stop posting news in a channel "
                          "(needs Manage Channels)")
    @app_commands.describe(channel="The subscribed channel")
    async def unsubscribe(self, interaction: discord.Interaction,
                          channel: discord.TextChannel) -> None:
        guild = _guild(interaction)
        _require_manage_channels(interaction, channel)
        if channel.id == self.following.hub_channel_id:
            raise UserFacingError(f"{channel.mention} is this bot's news hub: it stops getting "
                                  "news only when NEWS_HUB_CHANNEL_ID is changed or removed.")
        sub = await self.bot.store.news.subscription(channel.id)
        if sub is not None and sub.follows and sub.state != "ended":
            # Only the follow the bot made: its id was kept when it was made.
            await self.following.unfollow(sub, channel)
        ended = await self.bot.store.news.unsubscribe(guild.id, channel.id, self.bot.clock())
        if not ended:
            raise UserFacingError(f"{channel.mention} is not subscribed to news; "
                                  "`/news subscriptions` lists the channels that are.")
        what = ("it no longer follows the news hub" if sub is not None and sub.follows
                else f"no more news in {channel.mention}")
        await reply(interaction, f"Unsubscribed: {what}.")

    @app_commands.command(name="subscriptions",
                          description="This server's news channels and how delivery is going")
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        guild = _guild(interaction)
        news = self.bot.store.news
        subs = await news.subscriptions(guild.id)
        if any(s.follows for s in subs):
            # A follow deleted by hand shows as ended here, not as working.
            await self.following.check_guild(subs)
            subs = await news.subscriptions(guild.id)
        ended = await news.ended_follows(guild.id, self.bot.clock() - timedelta(days=30))
        await reply(interaction, embed=subscriptions_embed(subs, ended))

    @app_commands.command(name="latest", description="The newest Heartstopper news")
    @app_commands.describe(count=f"How many items (1-{LATEST_MAX}, default 3)")
    async def latest(self, interaction: discord.Interaction,
                     count: app_commands.Range[int, 1, LATEST_MAX] = 3) -> None:
        items = await self.bot.store.news.latest(count)
        watched = await self.bot.store.guilds.watched_season(interaction.guild_id)
        await reply(interaction, embed=latest_embed(items, watched_season=watched))

    @app_commands.command(name="post", description="Bot owners: send a news item to every "
                          "subscribed channel")
    @app_commands.describe(title="Headline", body="The news itself",
                           url="Link to the full story (https://...)",
                           season="The season it is about (hidden as a spoiler where needed)")
    async def post(self, interaction: discord.Interaction,
                   title: app_commands.Range[str, 1, 256],
                   body: app_commands.Range[str, 1, 4000],
                   url: str | None = None,
                   season: app_commands.Range[int, 1, 99] | None = None) -> None:
        await self._require_owner(interaction)
        link = check_url(url) if url is not None else None
        if season is not None:
            known = sorted(s.number for s in await self.bot.store.canon.seasons())
            if season not in known:
                listed = ", ".join(map(str, known)) or "none"
                raise UserFacingError(f"Season {season} is not one I know (known: {listed}).")
        now = self.bot.clock()
        draft = NewsDraft(dedupe_key=f"owner:{interaction.id}", title=title.strip(),
                          body=body.strip(), published=now.date().isoformat(), origin="owner",
                          url=link, season=season)
        published = await self.engine.publish(draft)
        log.info("news item %s posted by %s: %d deliveries", published.item.id,
                 interaction.user.id, published.deliveries)
        followers = (f", and to {published.following} channel"
                     f"{'s' * (published.following != 1)} following the news hub once the "
                     "hub publishes it" if published.to_hub else "")
        await reply(interaction,
                    f"Posted news #{published.item.id}: it is on its way to "
            f"{published.deliveries} subscribed channel{'s' * (published.deliveries != 1)}"
            f"{followers}. `/news status` shows how delivery is going.")

    @app_commands.command(name="status", description="Bot owners: news delivery at a glance")
    async def status(self, interaction: discord.Interaction) -> None:
        await self._require_owner(interaction)
        status = await self.bot.store.news.status()
        embed = status_embed(status, rate=self.bot.settings.news_sends_per_second,
                             max_rate=DISCORD_REQUESTS_PER_SECOND, health=self.engine.health(),
                             now=self.bot.clock(), delivered_elsewhere=await self._leader())
        embed.add_field(name="Last backup", value=backup_status_line(self.bot.backups),
                        inline=False)
        await reply(interaction, embed=embed)

    async def _leader(self) -> str | None:
        """Who delivers news, when it is another process (shard slices share one database)."""
        background = self.bot.background
        if background.leading or not self.bot.run_services:
            return None
        return describe_lease(await background.leases.current(), self.bot.clock())

    async def _require_owner(self, interaction: discord.Interaction) -> None:
        await require_bot_owner(self.bot, interaction,
                                "Only the bot's owners can do this: news goes to every "
                                "subscribed server, so server moderators cannot post it.")

    # ---- Discord events -------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if await self.bot.store.news.end_channel(channel.id, "the channel was deleted",
                                                 self.bot.clock()):
            log.info("news subscription ended: channel %s was deleted", channel.id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        ended = await self.bot.store.news.end_guild(guild.id, "the bot left the server",
                                                    self.bot.clock())
        if ended:
            log.info("%d news subscriptions ended: removed from guild %s", ended, guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # READY lists every server the bot is in (unavailable ones included), so a server
        # missing from it removed the bot while it was offline: no event will say so.
        present = {g.id for g in self.bot.guilds}
        # Only the servers on this process's shards: the other slices' are not in its READY.
        subscribed = {g for g in await self.bot.store.news.subscribed_guilds()
                      if self.bot.serves(g)}
        for guild_id in subscribed - present:
            ended = await self.bot.store.news.end_guild(guild_id, "the bot left the server",
                                                        self.bot.clock())
            log.info("%d news subscriptions ended: no longer in guild %s", ended, guild_id)

    @commands.Cog.listener()
    async def on_webhooks_update(self, channel: discord.abc.GuildChannel) -> None:
        # Needs the webhooks intent; without it the daily check and /news subscriptions
        # notice a follow deleted by hand.
        sub = await self.bot.store.news.subscription(channel.id)
        if sub is not None and sub.follows and sub.state == "active":
            await self.following.check(sub)

    @commands.Cog.listener()
    async def on_guild_channel_update(self, before: discord.abc.GuildChannel,
                                      after: discord.abc.GuildChannel) -> None:
        sub = await self.bot.store.news.subscription(after.id)
        if sub is not None and sub.state == "paused":
            await self._resume_fixed(after.guild, [sub])

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        subs = await self.bot.store.news.subscriptions(after.guild.id)
        await self._resume_fixed(after.guild, [s for s in subs if s.state == "paused"])

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        await self.bot.store.news.forget_role(role.guild.id, role.id, self.bot.clock())

    async def _resume_fixed(self, guild: discord.Guild, paused: list[NewsSubscription]) -> None:
        """Permissions changed: paused channels the bot can post in again are retried now
        rather than at their next backoff."""
        fixed = []
        for sub in paused:
            channel = guild.get_channel(sub.channel_id)
            if channel is not None and not missing_post_permissions(
                    channel.permissions_for(guild.me)):
                fixed.append(sub.id)
        if fixed and await self.bot.store.news.retry_now(fixed, self.bot.clock()):
            self.engine.wake()


async def setup(bot: HeartstopperBot) -> None:
    # The feeds' commands live under /news and publish through this engine: they are set up
    # here, handed both, so nothing depends on the order extensions load in.
    news = News(bot)
    await bot.add_cog(news)
    group = news.app_command
    assert isinstance(group, app_commands.Group)
    await bot.add_cog(NewsFeeds(bot, group, news.engine.publish))
