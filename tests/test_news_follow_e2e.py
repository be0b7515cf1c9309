"""Follow mode end to end (issue 20): the real bot, with NEWS_HUB_CHANNEL_ID set to the first
server's announcement channel, against the emulator, which copies every message published in
the hub into each channel following it, as Discord does.

What is checked is what Discord saw: posts, copies (webhook messages flagged IS_CROSSPOST),
follower webhooks, and the bot's own requests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.core.config import Settings
from bot.news.store import FOLLOW_REMOVED
from bot.playground.harness import BotRunner, emulator_settings
from emulator import Perm, default_config
from emulator.routes_webhooks import MESSAGE_FLAG_IS_CROSSPOST
from emulator.testing import running_emulator
from tests.conftest import Harness
from tests.test_news_e2e import MESSAGES, engine_of, news_messages, owner_draft, settled, until

CROSSPOST = MESSAGES + "/{message_id}/crosspost"


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Harness]:
    """Three servers; the first one's #announcements is the bot's news hub."""
    config = default_config(guilds=3)
    hub_id = config.guilds[0].channel("announcements").id
    async with running_emulator(config) as emu:
        holder: list[Harness] = []
        runner = BotRunner(
            emu, emulator_settings(dataclasses.replace(settings, news_hub_channel_id=hub_id), emu),
            clock=lambda: holder[0].now)
        harness = Harness(emu, runner, datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
        holder.append(harness)
        await runner.start()
        try:
            await until(lambda: _hub_ready(harness), "the hub is set up")
            yield harness
        finally:
            await runner.stop()


async def _hub_ready(h: Harness) -> bool:
    sub = await h.store.news.subscription(hub_channel(h))
    return sub is not None and sub.is_hub and sub.state == "active"


def hub_channel(h: Harness) -> int:
    return h.channel_id("announcements", 0)


def copies(h: Harness, channel_id: int) -> list:
    """Discord's copies of the hub's published posts in a following channel."""
    return [m for m in h.emu.channel_messages(channel_id)
            if m.raw.get("webhook_id") and m.flags & MESSAGE_FLAG_IS_CROSSPOST]


async def grant_webhooks(h: Harness, channel_id: int) -> None:
    await h.emu.set_bot_permissions(channel_id, allow=Perm.MANAGE_WEBHOOKS)
    await until(lambda: _bot_can_manage_webhooks(h, channel_id), "the bot sees the grant")


def _bot_can_manage_webhooks(h: Harness, channel_id: int) -> bool:
    channel = h.bot.get_channel(channel_id)
    return channel is not None and channel.permissions_for(  # type: ignore[union-attr]
        channel.guild.me).manage_webhooks  # type: ignore[union-attr]


async def follow(h: Harness, channel_id: int, guild: int):
    return await h.emu.invoke("news subscribe", {"channel": channel_id, "mode": "follow"},
                              guild_id=h.emu.config.guilds[guild].id, user="moderator")


async def test_follow_mode_is_refused_clearly_and_changes_nothing(hub: Harness) -> None:
    h, emu = hub, hub.emu
    target, guild = h.channel_id("general", 1), emu.config.guilds[1].id

    refused = await emu.invoke("news subscribe", {"channel": target, "mode": "follow"},
                               guild_id=guild)  # a plain member
    assert refused.ephemeral and "Manage Channels" in refused.content
    refused = await follow(h, target, 1)
    assert "I can't make" in refused.content and "missing **Manage Webhooks**" in (
        refused.content)
    await grant_webhooks(h, target)
    role = emu.config.guilds[1].roles[0].id
    refused = await emu.invoke("news subscribe", {"channel": target, "mode": "follow",
                                                  "role": role}, guild_id=guild,
                               user="moderator")
    assert "no role ping" in refused.content and "no spoiler hiding" in refused.content
    refused = await emu.invoke("news subscribe", {"channel": hub_channel(h), "mode": "follow"},
                               guild_id=h.guild_id, user="owner")
    assert "news hub" in refused.content

    # A follow someone set up by hand is theirs: the bot does not add a second one.
    await emu.webhooks.follow(hub_channel(h), target)
    refused = await follow(h, target, 1)
    assert "set up by hand" in refused.content
    assert len(emu.webhooks.in_channel(target)) == 1
    assert await h.store.news.subscription(target) is None
    assert emu.requests_to("POST", "/channels/{channel_id}/followers") == []


async def test_an_item_reaches_per_channel_and_following_channels_exactly_once(
        hub: Harness) -> None:
    h, emu = hub, hub.emu
    followed, posted = h.channel_id("general", 1), h.channel_id("general", 2)
    await grant_webhooks(h, followed)
    accepted = await follow(h, followed, 1)
    assert accepted.content.startswith("Following:"), accepted.content
    assert "no role ping" in accepted.content and "hub's server" in accepted.content
    assert accepted.buttons == []  # nothing to post by the bot there
    [hook] = emu.webhooks.in_channel(followed)
    sub = await h.store.news.subscription(followed)
    assert sub is not None and sub.follows and sub.webhook_id == hook.id
    plain = await emu.invoke("news subscribe", {"channel": posted},
                             guild_id=emu.config.guilds[2].id, user="moderator")
    assert plain.content.startswith("Subscribed")

    listed = await emu.invoke("news subscriptions", guild_id=emu.config.guilds[1].id)
    assert "follows the news hub" in listed.embed["description"]

    result = await emu.invoke("news post", {"title": "Season 4 news", "body": "Big news."},
                              guild_id=h.guild_id, user="owner")
    assert "2 subscribed channels" in result.content  # the hub and #general of server 3
    assert "1 channel following the news hub" in result.content
    # A feed entry goes the same way.
    await engine_of(h).publish(owner_draft(2, origin="feed"))

    await until(lambda: len(copies(h, followed)) == 2, "Discord copies both to the follower")
    await until(lambda: settled(h), "every delivery is recorded")
    await emu.webhooks.settled()
    hub_posts = news_messages(h, hub_channel(h))
    assert len(hub_posts) == 2 and all(m.crossposted for m in hub_posts)
    assert len(news_messages(h, posted)) == 2
    assert [m.embed["title"] for m in copies(h, followed)] == ["Season 4 news", "News 2"]
    assert all(m.raw["message_reference"]["channel_id"] == str(hub_channel(h))
               for m in copies(h, followed))
    assert news_messages(h, followed) == []  # the bot itself never posts there
    # The bot's requests: one post and one publish per item for the hub, one post per item
    # for the per-channel subscriber; none at all for the follower.
    sends = {r.path.split("/")[2] for r in emu.requests_to("POST", MESSAGES)}
    assert sends == {str(hub_channel(h)), str(posted)}
    assert len(emu.requests_to("POST", CROSSPOST)) == 2
    assert emu.stats.rate_limited == 0


async def test_a_channel_switches_between_modes_and_unsubscribe_removes_only_its_follow(
        hub: Harness) -> None:
    h, emu = hub, hub.emu
    channel, guild = h.channel_id("general", 1), emu.config.guilds[1].id
    await grant_webhooks(h, channel)
    await emu.invoke("news subscribe", {"channel": channel}, guild_id=guild, user="moderator")

    # Switched to follow mode while an item is on its way to the channel (held back: the bot
    # lost access, so no try can have gone out) and the hub has not published it yet: it
    # arrives once, as Discord's copy.
    held = [emu.faults.forbidden(channel),
            emu.faults.server_error("POST", CROSSPOST, status=503, times=None)]
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: _hub_delivery(h, "publish_pending"), "the hub waits to publish")
    switched = await follow(h, channel, 1)
    assert "no longer posts there itself" in switched.content
    for fault in held:
        emu.faults.remove(fault)
    h.advance(minutes=5)
    engine_of(h).wake()
    await until(lambda: settled(h), "the hub publishes")
    await until(lambda: len(copies(h, channel)) == 1, "the item arrives as Discord's copy")
    assert news_messages(h, channel) == []
    sub = await h.store.news.subscription(channel)
    assert sub is not None
    assert [d.state for d in await h.store.news.deliveries(subscription_id=sub.id)] == [
        "cancelled"]

    # Back to per-channel posts while the hub holds an item: the follow is removed first,
    # and the bot posts that item itself. Nothing comes twice, nothing is lost.
    held = [emu.faults.server_error("POST", CROSSPOST, status=503, times=None)]
    await engine_of(h).publish(owner_draft(2))
    await until(lambda: _hub_delivery(h, "publish_pending"), "the hub waits to publish")
    back = await emu.invoke("news subscribe", {"channel": channel}, guild_id=guild,
                            user="moderator")
    assert back.content.startswith("Subscribed") and "no longer follows" in back.content
    assert emu.webhooks.in_channel(channel) == []
    for fault in held:
        emu.faults.remove(fault)
    h.advance(minutes=5)
    engine_of(h).wake()
    await until(lambda: settled(h), "the hub publishes, the bot posts")
    await emu.webhooks.settled()
    assert [m.embed["title"] for m in news_messages(h, channel)] == ["News 2"]
    assert [m.embed["title"] for m in copies(h, channel)] == ["News 1"]

    # Follow again, with an unrelated follower webhook in the same channel (someone follows
    # another server's announcements): unsubscribe removes the bot's and only that.
    other = await emu.webhooks.follow(h.channel_id("announcements", 2), channel)
    await follow(h, channel, 1)
    mine = (await h.store.news.subscription(channel)).webhook_id  # type: ignore[union-attr]
    assert {w.id for w in emu.webhooks.in_channel(channel)} == {mine, other.id}
    done = await emu.invoke("news unsubscribe", {"channel": channel}, guild_id=guild,
                            user="moderator")
    assert done.content == "Unsubscribed: it no longer follows the news hub."
    assert [w.id for w in emu.webhooks.in_channel(channel)] == [other.id]
    deleted = emu.requests_to("DELETE", "/webhooks/{webhook_id}")
    assert deleted[-1].path == f"/webhooks/{mine}" and len(deleted) == 2


async def test_a_follow_deleted_by_hand_is_noticed_and_shown_as_ended(hub: Harness) -> None:
    h, emu = hub, hub.emu
    first, second = h.channel_id("general", 1), h.channel_id("announcements", 1)
    third = h.channel_id("general", 2)
    guild = emu.config.guilds[1].id
    for channel, g in ((first, 1), (second, 1), (third, 2)):
        await grant_webhooks(h, channel)
        await follow(h, channel, g)

    # The bot has the webhooks intent: a deletion by hand fires WEBHOOKS_UPDATE, heard at once.
    [hook] = emu.webhooks.in_channel(third)
    await emu.webhooks.delete_by_hand(hook.id)
    await until(lambda: _state(h, third, "ended"), "the event leads to a check")

    # Deleted in the channel's settings while the bot watches: /news subscriptions looks.
    [hook] = emu.webhooks.in_channel(first)
    await emu.webhooks.delete_by_hand(hook.id)
    listed = await emu.invoke("news subscriptions", guild_id=guild)
    text = listed.embed["description"]
    assert f"<#{first}> · follow **ended**" in text and "deleted in the channel's settings" in text
    assert f"<#{second}> · follows the news hub" in text
    ended = await h.store.news.subscription(first)
    assert ended is not None and ended.state == "ended" and ended.end_reason == FOLLOW_REMOVED

    # Deleted while the bot was away, a day and more ago: found at the next round.
    [hook] = emu.webhooks.in_channel(second)
    await emu.webhooks.delete_by_hand(hook.id, notify=False)
    h.advance(days=2)
    await h.restart()
    await until(lambda: _state(h, second, "ended"), "the daily check finds it gone")
    await emu.invoke("news post", {"title": "After", "body": "x"}, guild_id=h.guild_id,
                     user="owner")
    await until(lambda: settled(h), "recorded")
    assert copies(h, first) == [] and copies(h, second) == [] and copies(h, third) == []


async def _state(h: Harness, channel: int, state: str) -> bool:
    sub = await h.store.news.subscription(channel)
    return sub is not None and sub.state == state


async def test_a_crash_between_the_hub_post_and_its_publish_publishes_once(hub: Harness) -> None:
    h, emu = hub, hub.emu
    followers = [h.channel_id("general", 1), h.channel_id("general", 2)]
    for g, channel in enumerate(followers, start=1):
        await grant_webhooks(h, channel)
        await follow(h, channel, g)
    posted = h.channel_id("announcements", 2)
    await emu.invoke("news subscribe", {"channel": posted}, guild_id=emu.config.guilds[2].id,
                     user="moderator")

    # The hub's post goes out; its publish fails, and the bot dies before trying again.
    fault = emu.faults.server_error("POST", CROSSPOST, status=503, times=None)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: _hub_delivery(h, "publish_pending"), "posted, waiting to publish")
    assert len(news_messages(h, hub_channel(h))) == 1 and emu.stats.publishes == 0
    emu.faults.remove(fault)
    h.advance(minutes=5)  # past the retry's backoff
    await h.restart()
    await until(lambda: settled(h), "the restarted bot publishes it")
    await emu.webhooks.settled()
    assert all(len(copies(h, c)) == 1 for c in followers)
    assert len(news_messages(h, posted)) == 1 and len(news_messages(h, hub_channel(h))) == 1

    # The publish takes effect but its answer is lost, and the bot restarts: Discord says
    # "already crossposted" to the retry, and nothing is copied twice.
    emu.faults.server_error("POST", CROSSPOST, status=503, times=1, after_effect=True)
    await engine_of(h).publish(owner_draft(2))
    await until(lambda: emu.stats.publishes == 2, "Discord published it")
    h.advance(minutes=5)
    await h.restart()
    await until(lambda: settled(h), "recorded as published")
    await emu.webhooks.settled()
    assert all(len(copies(h, c)) == 2 for c in followers)
    assert len(news_messages(h, hub_channel(h))) == 2 and len(news_messages(h, posted)) == 2
    assert emu.stats.follower_copies == 4


async def _hub_delivery(h: Harness, state: str) -> bool:
    sub = await h.store.news.subscription(hub_channel(h))
    assert sub is not None
    return any(d.state == state for d in await h.store.news.deliveries(subscription_id=sub.id))


async def test_the_eleventh_item_in_an_hour_reaches_followers_when_the_hub_may_publish(
        hub: Harness) -> None:
    h, emu = hub, hub.emu
    followed, posted = h.channel_id("general", 1), h.channel_id("general", 2)
    await grant_webhooks(h, followed)
    await follow(h, followed, 1)
    await emu.invoke("news subscribe", {"channel": posted}, guild_id=emu.config.guilds[2].id,
                     user="moderator")
    engine = engine_of(h)
    for n in range(11):
        await engine.publish(owner_draft(n))
    await until(lambda: len(news_messages(h, posted)) == 11, "per-channel posts are not held")
    await until(lambda: len(copies(h, followed)) == 10, "ten reach the follower")
    assert len(news_messages(h, hub_channel(h))) == 11  # the hub has posted all eleven
    assert emu.stats.publish_rate_limited == 0  # the bot kept to the budget itself

    emu.clock.advance(3601)
    h.advance(seconds=3601)
    engine.wake()
    await until(lambda: len(copies(h, followed)) == 11, "the eleventh an hour later")
    assert [m.embed["title"] for m in copies(h, followed)] == [f"News {n}" for n in range(11)]
