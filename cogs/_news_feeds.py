"""/news feed add|list|remove and /news review: bot owners follow RSS/Atom feeds whose new
entries become news items, posted through the same outbox as everything else.

Not an extension of its own (the leading underscore keeps the loader away): cogs/news.py sets it
up, handing it the /news group and the engine's publish. The poller (bot/feeds/) starts and stops
with this cog.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import HeartstopperBot
from bot.core.errors import NO_MENTIONS, UserFacingError
from bot.core.formatting import CHOICES_MAX
from bot.core.ui import reply
from bot.feeds import FeedAddError, FeedPoller, FeedTiming
from bot.feeds.fetcher import FeedFetcher
from bot.feeds.filters import KeywordError, parse_keywords
from bot.feeds.ingest import Publish
from bot.feeds.models import Feed
from bot.feeds.owners import tell_owners
from bot.feeds.render import (
    feed_add_failed_text,
    feed_added_text,
    feed_choice_name,
    feed_disabled_notice,
    feed_removed_text,
    feeds_embed,
    held_embed,
    review_empty_text,
)
from bot.feeds.review import FeedReview
from bot.feeds.urls import FEED_URL_LIMIT, feed_host
from bot.feeds.views import FeedReviewFlow, require_owner

log = logging.getLogger(__name__)
class FeedCommands(app_commands.Group):
    """The /news feed subgroup."""

    def __init__(self, cog: NewsFeeds) -> None:
        super().__init__(name="feed", description="Bot owners: RSS/Atom feeds whose new entries "
                         "become news")
        self.cog = cog

    @app_commands.command(name="add", description="Bot owners: follow an RSS or Atom feed (or "
                          "change how it is followed)")
    @app_commands.describe(
        url="The feed's address (https://...), not the web page",
        keywords="Only entries mentioning one of these, comma-separated (e.g. Heartstopper)",
        review="Hold each new entry until an owner approves it with /news review",
    )
    async def add(self, interaction: discord.Interaction,
                  url: app_commands.Range[str, 1, FEED_URL_LIMIT],
                  keywords: app_commands.Range[str, 1, 600] | None = None,
                  review: bool = False) -> None:
        bot = self.cog.bot
        await require_owner(bot, interaction)
        try:
            words = parse_keywords(keywords)
        except KeywordError as exc:
            raise UserFacingError(f"`keywords`: {exc}. Separate keywords with commas, e.g. "
                                  "`Heartstopper, Alice Oseman`.") from None
        # The first fetch can take a while (a slow server has up to the fetch timeout).
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            result = await self.cog.poller.add(url, keywords=words, review=review,
                                               added_by=interaction.user.id)
        except FeedAddError as exc:
            raise UserFacingError(feed_add_failed_text(url, exc.reason)) from None
        log.info("feed %s (%s) added by %s: %s", result.feed.id, feed_host(result.feed.url),
                 interaction.user.id, result.report)
        await interaction.followup.send(feed_added_text(result), ephemeral=True,
                                        allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="list", description="Bot owners: followed feeds and how "
                          "fetching them is going")
    async def list_(self, interaction: discord.Interaction) -> None:
        bot = self.cog.bot
        await require_owner(bot, interaction)
        feeds = await bot.store.feeds.feeds()
        await reply(interaction, embed=feeds_embed(feeds))

    @app_commands.command(name="remove", description="Bot owners: stop following a feed")
    @app_commands.describe(feed="The feed (pick from the list)")
    async def remove(self, interaction: discord.Interaction,
                     feed: app_commands.Range[str, 1, 100]) -> None:
        bot = self.cog.bot
        await require_owner(bot, interaction)
        found = await self.cog.find_feed(feed)
        pending = await bot.store.feeds.pending_count(found.id)
        removed = await bot.store.feeds.remove(found.id)
        if removed is None:
            raise UserFacingError("That feed was removed already.")
        log.info("feed %s (%s) removed by %s", removed.id, feed_host(removed.url),
                 interaction.user.id)
        await reply(interaction, feed_removed_text(removed, pending))

    @remove.autocomplete("feed")
    async def remove_feed_choices(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        if not await self.cog.bot.is_owner(interaction.user):
            return []
        typed = current.casefold().strip()
        feeds = await self.cog.bot.store.feeds.feeds()
        matching = [f for f in feeds if not typed or typed in feed_choice_name(f).casefold()
                    or typed in f.url.casefold()]
        return [app_commands.Choice(name=feed_choice_name(f), value=str(f.id))
                for f in matching[:CHOICES_MAX]]


def _review_command(cog: NewsFeeds) -> app_commands.Command:
    async def review(interaction: discord.Interaction) -> None:
        await require_owner(cog.bot, interaction)
        entry = await cog.review.next_pending()
        if entry is None:
            await reply(interaction, review_empty_text())
            return
        pending = await cog.bot.store.feeds.pending_count()
        await reply(interaction, embed=held_embed(entry, pending=pending),
                    view=cog.review_flow.card(entry))

    return app_commands.Command(name="review", callback=review,
                                description="Bot owners: approve or drop feed entries held "
                                            "for review")


class NewsFeeds(commands.Cog):
    def __init__(self, bot: HeartstopperBot, news: app_commands.Group, publish: Publish,
                 *, timing: FeedTiming | None = None) -> None:
        self.bot = bot
        self.news = news
        timing = timing or FeedTiming.every(bot.settings.feed_poll_seconds)
        fetcher = FeedFetcher(
            timing, allow_private=bot.settings.feeds_allow_private_addresses)
        self.poller = FeedPoller(bot.store, fetcher, publish=publish,
                                 clock=bot.clock, timing=timing,
                                 notify_disabled=self._tell_disabled,
                                 ready=bot.wait_until_ready)
        self.poller.on_result = bot.metrics.feed_fetched  # /metrics: fetches by result
        self.review = FeedReview(bot.store, publish=publish, clock=bot.clock, timing=timing)
        self.review_flow = FeedReviewFlow(bot, bot.store, self.review)
        self._commands: list[app_commands.Command | app_commands.Group] = [
            FeedCommands(self), _review_command(self)]

    async def cog_load(self) -> None:
        for command in self._commands:
            self.news.add_command(command)
        if self.bot.run_services:  # started in the process that leads (bot/core/leadership.py)
            self.bot.background.add("feed polling", self.poller.start, self.poller.stop)

    async def cog_unload(self) -> None:
        for command in self._commands:
            self.news.remove_command(command.name)
        await self.poller.stop()

    async def find_feed(self, value: str) -> Feed:
        """A feed by the id an autocomplete choice carries, or by its address."""
        text = value.strip().removeprefix("#")
        found = None
        if text.isdigit():
            found = await self.bot.store.feeds.feed(int(text))
        if found is None:
            found = await self.bot.store.feeds.feed_by_url(value.strip())
        if found is None:
            raise UserFacingError("I don't follow that feed. Pick one from the list, or see "
                                  "`/news feed list`.")
        return found

    async def _tell_disabled(self, feed: Feed) -> None:
        told = await tell_owners(self.bot, self.bot.settings.owner_ids,
                                 feed_disabled_notice(feed))
        log.info("told %d owner(s) that feed %s was disabled", told, feed.id)
