"""Follow mode at its edges, end to end (issue 20 review): switching a channel between modes
while the hub has a publish backlog or a send is under way, a hub that moves or is turned off,
a hub publish that keeps failing, and a follow check racing a switch made elsewhere.

As in tests/test_news_follow_e2e.py, what is checked is what Discord saw: the bot's posts in a
channel and Discord's copies of the hub's published posts, each item exactly once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.news.following import HubFollowing
from bot.news.render import news_message
from bot.news.store import HUB_MOVED, HUB_OFF
from tests.conftest import Harness
from tests.test_news_e2e import engine_of, news_messages, owner_draft, settled, until
from tests.test_news_follow_e2e import (  # noqa: F401 (`hub` is a fixture)
    CROSSPOST,
    copies,
    follow,
    grant_webhooks,
    hub,
    hub_channel,
)

FOLLOWERS = "/channels/{channel_id}/followers"


def titles(messages: list) -> list[str]:
    return [m.embed["title"] for m in messages]


async def subscribe(h: Harness, channel: int, guild: int):
    return await h.emu.invoke("news subscribe", {"channel": channel},
                              guild_id=h.emu.config.guilds[guild].id, user="moderator")


async def hub_deliveries(h: Harness) -> list:
    sub = await h.store.news.subscription(hub_channel(h))
    assert sub is not None
    return await h.store.news.deliveries(subscription_id=sub.id)


async def _second_server_channel(h: Harness, how: Callable[..., Awaitable[object]]) -> int:
    """The second server's #general, where the bot may manage webhooks, subscribed `how`
    (per channel, or following the hub)."""
    channel = h.channel_id("general", 1)
    await grant_webhooks(h, channel)
    await how(h, channel, 1)
    return channel


async def test_a_switch_to_follow_mode_waits_until_the_hub_has_published_what_was_posted(
        hub: Harness) -> None:  # noqa: F811
    h, emu = hub, hub.emu
    channel = await _second_server_channel(h, subscribe)
    engine = engine_of(h)
    for n in range(11):
        await engine.publish(owner_draft(n))
    await until(lambda: len(news_messages(h, channel)) == 11, "the bot posts all eleven")
    await until(lambda: emu.stats.publishes == 10, "the hub publishes ten: its hourly budget")

    # The eleventh is posted here and waits an hour for the hub's publish: following now
    # would bring it a second time, as Discord's copy.
    refused = await follow(h, channel, 1)
    assert refused.ephemeral and "can't switch to follow mode yet" in refused.content
    assert "**News 10**" in refused.content and "News 9" not in refused.content
    slot = int(h.now.timestamp()) + 3600
    assert f"<t:{slot}:t>" in refused.content and "Nothing changed" in refused.content
    assert emu.requests_to("POST", FOLLOWERS) == [] and emu.webhooks.in_channel(channel) == []
    sub = await h.store.news.subscription(channel)
    assert sub is not None and sub.mode == "channel" and sub.state == "active"

    emu.clock.advance(3601)
    h.advance(seconds=3601)
    engine.wake()
    await until(lambda: emu.stats.publishes == 11, "the hub publishes the eleventh")
    await until(lambda: settled(h), "recorded")
    accepted = await follow(h, channel, 1)
    assert accepted.content.startswith("Following:"), accepted.content
    await engine.publish(owner_draft(11))
    await until(lambda: len(copies(h, channel)) == 1, "the next item comes as Discord's copy")
    await until(lambda: settled(h), "recorded")
    await emu.webhooks.settled()
    assert titles(news_messages(h, channel)) == [f"News {n}" for n in range(11)]
    assert titles(copies(h, channel)) == ["News 11"]


async def test_a_send_under_way_refuses_the_switch_and_is_not_cancelled(
        hub: Harness) -> None:  # noqa: F811
    h, emu = hub, hub.emu
    channel = await _second_server_channel(h, subscribe)
    engine = engine_of(h)
    await engine.stop()
    # Another process (a shard slice that leads) has claimed the item's sends: they are
    # under way, and its worker will post them whatever this command does.
    await h.store.news.publish(owner_draft(1), h.now)
    jobs = await h.store.news.claim_sends(h.now, 10, "another-process")
    assert {j.subscription.channel_id for j in jobs} == {channel, hub_channel(h)}

    refused = await follow(h, channel, 1)
    assert "can't switch to follow mode yet" in refused.content and "**News 1**" in (
        refused.content)
    assert "in a minute or so" in refused.content  # the hub may publish at once
    assert emu.webhooks.in_channel(channel) == []

    for job in jobs:  # that worker's posts go out and are recorded
        message = news_message(job.item, role_id=None, watched_season=None)
        message_id = await engine.transport.send(job.subscription, message, job.delivery.nonce)
        await h.store.news.mark_sent(job.delivery.id, message_id, h.now,
                                     then_publish=job.subscription.publish)
    await engine.start()
    engine.wake()
    await until(lambda: settled(h), "the hub publishes")
    assert emu.stats.publishes == 1
    accepted = await follow(h, channel, 1)
    assert accepted.content.startswith("Following:"), accepted.content
    await engine.publish(owner_draft(2))
    await until(lambda: len(copies(h, channel)) == 1, "the next item comes as Discord's copy")
    await emu.webhooks.settled()
    assert titles(news_messages(h, channel)) == ["News 1"]
    assert titles(copies(h, channel)) == ["News 2"]


async def test_back_and_forth_before_the_hub_publishes_loses_nothing(
        hub: Harness) -> None:  # noqa: F811
    h, emu = hub, hub.emu
    channel = await _second_server_channel(h, subscribe)
    # The channel's post is held back (the bot lost access: no try can have gone out), and
    # the hub cannot publish yet.
    held = [emu.faults.forbidden(channel),
            emu.faults.server_error("POST", CROSSPOST, status=503, times=None)]
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: _channel_paused(h, channel), "the channel's delivery waits")
    await until(lambda: _hub_in(h, "publish_pending"), "the hub waits to publish")

    switched = await follow(h, channel, 1)
    assert switched.content.startswith("Following:"), switched.content
    back = await subscribe(h, channel, 1)
    assert back.content.startswith("Subscribed") and "no longer follows" in back.content
    for fault in held:
        emu.faults.remove(fault)
    h.advance(minutes=5)
    engine_of(h).wake()
    await until(lambda: settled(h), "the bot posts it, the hub publishes it")
    await emu.webhooks.settled()
    assert titles(news_messages(h, channel)) == ["News 1"]  # not lost
    assert copies(h, channel) == []


async def _channel_paused(h: Harness, channel: int) -> bool:
    sub = await h.store.news.subscription(channel)
    return sub is not None and sub.state == "paused"


async def _hub_in(h: Harness, state: str) -> bool:
    return any(d.state == state for d in await hub_deliveries(h))


async def test_a_new_hub_ends_the_follows_of_the_old_one_and_says_why(
        hub: Harness) -> None:  # noqa: F811
    h, emu = hub, hub.emu
    old_hub, new_hub = hub_channel(h), h.channel_id("announcements", 2)
    first, second = h.channel_id("general", 1), h.channel_id("announcements", 1)
    guild = emu.config.guilds[1].id
    for channel in (first, second):
        await grant_webhooks(h, channel)
    await follow(h, first, 1)

    # The operator points NEWS_HUB_CHANNEL_ID at another channel and restarts the bot.
    h.runner.settings = dataclasses.replace(h.runner.settings, news_hub_channel_id=new_hub)
    await h.restart()
    await until(lambda: _state(h, first, "ended"), "the old hub's follow ends")
    ended = await h.store.news.subscription(first)
    assert ended is not None and ended.end_reason == HUB_MOVED
    listed = await emu.invoke("news subscriptions", guild_id=guild)
    assert f"<#{first}> · follow **ended**" in listed.embed["description"]
    assert "news hub moved to another channel" in listed.embed["description"]

    # A follow of the old hub recorded as active all the same (say, by a process still on
    # the old setting) is found out when it is checked.
    stray = await emu.webhooks.follow(old_hub, second, user=emu.config.bot.id)
    await h.store.news.subscribe(guild, second, role_id=None, publish=False, subscribed_by=None,
                                 now=h.now, mode="follow", webhook_id=stray.id)
    listed = await emu.invoke("news subscriptions", guild_id=guild)
    assert f"<#{second}> · follow **ended**" in listed.embed["description"]
    assert (await h.store.news.subscription(second)).end_reason == HUB_MOVED  # type: ignore[union-attr]

    # Following again follows the new hub, and the news comes.
    again = await follow(h, first, 1)
    assert again.content.startswith("Following:"), again.content
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: len(copies(h, first)) == 1, "the new hub's copy arrives")
    assert copies(h, first)[0].raw["message_reference"]["channel_id"] == str(new_hub)
    # The bot's follow of the old hub went with it; only the new one is left.
    assert [w.source_channel_id for w in emu.webhooks.in_channel(first)] == [new_hub]

    # Turned off: every follow ends, and says so.
    h.runner.settings = dataclasses.replace(h.runner.settings, news_hub_channel_id=None)
    await h.restart()
    await until(lambda: _state(h, first, "ended"), "the follow ends with the hub")
    assert (await h.store.news.subscription(first)).end_reason == HUB_OFF  # type: ignore[union-attr]


async def _state(h: Harness, channel: int, state: str) -> bool:
    sub = await h.store.news.subscription(channel)
    return sub is not None and sub.state == state


async def test_the_hub_never_gives_up_a_publish_that_may_still_work(
        hub: Harness, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    h, emu = hub, hub.emu
    channel = await _second_server_channel(h, follow)
    engine = engine_of(h)
    limit = engine.timing.publish_max_attempts
    fault = emu.faults.server_error("POST", CROSSPOST, status=503, times=None)
    await engine.publish(owner_draft(1))
    for tries in range(1, limit + 3):
        await until(lambda n=tries: _hub_publish_tried(h, n), f"publish try {tries}")
        h.advance(hours=2)  # past any backoff
        engine.wake()
    emu.faults.remove(fault)
    await until(lambda: len(copies(h, channel)) == 1, "the follower gets it in the end")
    [done] = await hub_deliveries(h)
    assert done.state == "sent" and done.published_at is not None

    # Rejected outright (a bug in what was sent): given up, loudly, and shown in /news status.
    emu.faults.add("POST", CROSSPOST, status=400, code=50035, times=1)
    with caplog.at_level(logging.ERROR, logger="bot.news.engine"):
        await engine.publish(owner_draft(2))
        await until(lambda: settled(h), "given up")
    assert any("will reach no channel following the news hub" in r.getMessage()
               for r in caplog.records)
    status = await emu.invoke("news status", guild_id=h.guild_id, user="owner")
    deliveries = next(f for f in status.embed["fields"] if f["name"] == "Deliveries")
    assert "1 item never reached the channels following the news hub" in deliveries["value"]


async def _hub_publish_tried(h: Harness, tries: int) -> bool:
    [d] = await hub_deliveries(h)
    return d.state == "publish_pending" and d.publish_attempts == tries


async def test_a_follow_check_does_not_end_a_channel_switched_back_elsewhere(
        hub: Harness) -> None:  # noqa: F811
    h = hub
    channel = await _second_server_channel(h, follow)
    seen = await h.store.news.subscription(channel)  # read by a follow check in another process
    assert seen is not None and seen.follows
    back = await subscribe(h, channel, 1)  # this process deletes the webhook and switches back
    assert "no longer follows" in back.content

    elsewhere = HubFollowing(h.bot, h.store, hub_channel_id=hub_channel(h), pace=_no_wait,
                             clock=lambda: h.now)
    assert await elsewhere.check(seen)  # the webhook is gone, but so is that follow
    now = await h.store.news.subscription(channel)
    assert now is not None and now.mode == "channel" and now.state == "active"
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: len(news_messages(h, channel)) == 1, "the bot still posts there")


async def _no_wait() -> None:
    return None
