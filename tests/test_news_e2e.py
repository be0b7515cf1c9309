"""Season news end to end: the real bot, the real discord.py client, the local Discord emulator.

Waits below are liveness guards (fail instead of hanging), never timing assertions: what is
checked is what Discord saw (messages, pings, crossposts, 429s, nonce re-sends).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.news import NewsEngine
from bot.news.models import NewsDraft, NewsSubscription
from emulator import ChannelSpec, Perm, RoleSpec
from emulator.config import fixed_id
from tests.conftest import Harness

MESSAGES = "/channels/{channel_id}/messages"


def engine_of(h: Harness) -> NewsEngine:
    cog = h.bot.get_cog("News")
    assert cog is not None
    return cog.engine  # type: ignore[attr-defined]


async def until(check: Callable[[], Awaitable[bool] | bool], what: str,
                within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > end:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.02)


async def settled(h: Harness) -> bool:
    """Every delivery is finished (sent, failed or cancelled)."""
    return await h.store.news.open_deliveries() == 0


def news_messages(h: Harness, channel_id: int) -> list:
    return [m for m in h.emu.channel_messages(channel_id)
            if m.author_id == h.emu.config.bot.id and m.embeds]


def owner_draft(n: int, **changes: object) -> NewsDraft:
    values: dict[str, object] = {"dedupe_key": f"test:{n}", "title": f"News {n}",
                                 "body": f"Body of news {n}.", "published": "2026-11-25",
                                 "origin": "owner"}
    values.update(changes)
    return NewsDraft(**values)  # type: ignore[arg-type]


async def subscribe_directly(h: Harness, channel_id: int, guild_index: int = 0, *,
                             publish: bool = False) -> NewsSubscription:
    guild = h.emu.config.guilds[guild_index]
    return await h.store.news.subscribe(guild.id, channel_id, role_id=None, publish=publish,
                                        subscribed_by=guild.member("moderator").user.id,
                                        now=h.now)


# ---- commands -------------------------------------------------------------------------------


async def test_subscribe_checks_who_asks_and_what_the_bot_may_do(harness: Harness) -> None:
    h, emu = harness, harness.emu
    general, announcements = h.channel_id("general"), h.channel_id("announcements")

    refused = await emu.invoke("news subscribe", {"channel": general}, guild_id=h.guild_id)
    assert refused.ephemeral and "Manage Channels" in refused.content

    await emu.set_bot_permissions(general, deny=Perm.SEND_MESSAGES | Perm.EMBED_LINKS)
    refused = await emu.invoke("news subscribe", {"channel": general}, guild_id=h.guild_id,
                               user="moderator")
    assert "**Send Messages** and **Embed Links**" in refused.content
    await emu.set_bot_permissions(general, deny=Perm.EMBED_LINKS)
    refused = await emu.invoke("news subscribe", {"channel": general}, guild_id=h.guild_id,
                               user="moderator")
    assert "missing **Embed Links**" in refused.content and "Send Messages" not in (
        refused.content)

    refused = await emu.invoke("news subscribe", {"channel": general, "publish": True},
                               guild_id=h.guild_id, user="moderator")
    assert "not an announcement channel" in refused.content
    assert await h.store.news.subscription(general) is None

    accepted = await emu.invoke("news subscribe", {"channel": announcements, "publish": True},
                                guild_id=h.guild_id, user="moderator")
    assert accepted.content.startswith("Subscribed") and accepted.errors == []
    sub = await h.store.news.subscription(announcements)
    assert sub is not None and sub.publish and sub.state == "active"


async def test_subscribe_then_post_the_latest_once(harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    result = await emu.invoke("news subscribe", {"channel": general}, guild_id=h.guild_id,
                              user="moderator")
    assert result.ephemeral and f"<#{general}>" in result.content
    assert result.buttons == ["Post the latest news there now"]
    sub = await h.store.news.subscription(general)
    assert sub is not None and sub.state == "active" and sub.role_id is None

    # No backfill: nothing is posted until asked.
    await asyncio.sleep(0.1)
    assert news_messages(h, general) == []

    pressed = await emu.press(result.message, "Post the latest news there now")
    assert "in a moment" in pressed.content
    await until(lambda: len(news_messages(h, general)) == 1, "the latest item is posted")
    [latest] = await h.store.news.latest(1)
    assert news_messages(h, general)[0].embed["footer"]["text"].startswith("Published")
    assert latest.origin == "seed"
    assert await h.store.news.deliveries(item_id=latest.id) != []

    listed = await emu.invoke("news subscriptions", guild_id=h.guild_id, user="moderator")
    assert f"<#{general}>" in listed.embed["description"]
    assert "active" in listed.embed["description"]


async def test_role_pings_name_exactly_that_role(harness: Harness) -> None:
    h, emu = harness, harness.emu
    guild = emu.guild(0)
    quiet = RoleSpec(fixed_id(90_001), "Quiet", mentionable=False)
    loud = RoleSpec(fixed_id(90_002), "News pings", mentionable=True)
    guild.roles.extend([quiet, loud])
    await emu.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role":
                       emu.world.role_payload(quiet)}, guild_id=guild.id)
    await emu.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role":
                       emu.world.role_payload(loud)}, guild_id=guild.id)
    general = h.channel_id("general")

    refused = await emu.invoke("news subscribe", {"channel": general, "role": quiet.id},
                               guild_id=h.guild_id, user="moderator")
    assert "not mentionable" in refused.content
    refused = await emu.invoke("news subscribe", {"channel": general, "role": guild.id},
                               guild_id=h.guild_id, user="moderator")
    assert "@everyone" in refused.content

    ok = await emu.invoke("news subscribe", {"channel": general, "role": loud.id},
                          guild_id=h.guild_id, user="moderator")
    assert f"<@&{loud.id}>" in ok.content
    posted = await emu.invoke("news post", {"title": "Ping @everyone", "body": "<@&1> hi"},
                              guild_id=h.guild_id, user="owner")
    assert "1 subscribed channel" in posted.content
    await until(lambda: len(news_messages(h, general)) == 1, "the post arrives")
    [message] = news_messages(h, general)
    assert message.content == f"<@&{loud.id}>"
    assert message.pinged_role_ids == [loud.id]
    assert not message.pings_everyone and message.pinged_user_ids == []
    assert message.allowed_mentions == {"parse": [], "roles": [loud.id]}

    # The role is deleted: posts go on, pinging nobody.
    guild.roles.remove(loud)
    await emu.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(loud.id)},
                       guild_id=guild.id)
    await until(lambda: _role_of(h, general, None), "the role is forgotten")
    await engine_of(h).publish(owner_draft(2))
    await until(lambda: len(news_messages(h, general)) == 2, "the next post arrives")
    assert news_messages(h, general)[1].content == ""
    assert news_messages(h, general)[1].allowed_mentions == {"parse": []}


async def _role_of(h: Harness, channel_id: int, role_id: int | None) -> bool:
    sub = await h.store.news.subscription(channel_id)
    return sub is not None and sub.role_id == role_id


async def test_only_owners_post_and_see_status(harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    refused = await emu.invoke("news post", {"title": "Hi", "body": "there"},
                               guild_id=h.guild_id, user="moderator")
    assert "Only the bot's owners" in refused.content
    refused = await emu.invoke("news status", guild_id=h.guild_id, user="moderator")
    assert "Only the bot's owners" in refused.content
    bad = await emu.invoke("news post", {"title": "Hi", "body": "x", "url": "javascript:x"},
                           guild_id=h.guild_id, user="owner")
    assert "https://" in bad.content
    bad = await emu.invoke("news post", {"title": "Hi", "body": "x", "season": 9},
                           guild_id=h.guild_id, user="owner")
    assert "Season 9 is not one I know" in bad.content
    assert (await h.store.news.status()).items.get("owner", 0) == 0

    channels = [h.channel_id("general", g) for g in range(3)]
    for g, channel in enumerate(channels):
        await subscribe_directly(h, channel, g)
    posted = await emu.invoke("news post", {"title": "Season news", "body": "Big news.",
                                            "url": "https://example.org/x", "season": 3},
                              guild_id=h.guild_id, user="owner")
    assert "3 subscribed channels" in posted.content
    await until(lambda: all(len(news_messages(h, c)) == 1 for c in channels),
                "every server gets the post")
    # Discord has the posts a moment before the bot has recorded them.
    await until(lambda: settled(h), "every delivery is recorded")
    status = await emu.invoke("news status", guild_id=h.guild_id, user="owner")
    text = str(status.embed)
    assert "3 sent" in text and "0 failed" in text and "3 active" in text
    latest = await emu.invoke("news latest", {"count": 2}, guild_id=h.guild_id)
    assert latest.embed["fields"][0]["name"].endswith("Season news")


async def test_a_servers_spoiler_setting_applies(harness3: Harness) -> None:
    h = harness3
    careful, open_ = h.channel_id("general", 0), h.channel_id("general", 1)
    await subscribe_directly(h, careful, 0)
    await subscribe_directly(h, open_, 1)
    await h.store.guilds.set_watched_season(h.emu.config.guilds[0].id, 2)
    await engine_of(h).publish(owner_draft(1, title="Who kisses whom", season=3))
    await until(lambda: len(news_messages(h, careful)) == len(news_messages(h, open_)) == 1,
                "both servers get it")
    hidden = news_messages(h, careful)[0].embed
    assert "Who kisses whom" not in hidden["title"]
    assert hidden["description"].startswith("||**Who kisses whom**||")
    assert news_messages(h, open_)[0].embed["title"] == "Who kisses whom"


# ---- the delivery engine --------------------------------------------------------------------


async def test_fan_out_reaches_every_channel_once_without_a_single_429(
        harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    channels = []
    for g, guild in enumerate(emu.config.guilds):
        for i in range(80):
            spec = ChannelSpec(fixed_id(100_000 + g * 1000 + i), f"news-{i}", 0)
            await emu.add_channel(guild.id, spec)
            channels.append((g, spec.id))
    await until(lambda: all(h.bot.get_channel(c) for _, c in channels), "channels cached")
    for g, channel in channels:
        await subscribe_directly(h, channel, g)

    published = await engine_of(h).publish(owner_draft(1))
    again = await engine_of(h).publish(owner_draft(1))  # dedupe: nothing new
    assert published.deliveries == 240 and not again.created and again.deliveries == 0

    await until(lambda: emu.stats.messages_created >= 240, "fan-out finishes", within=30)
    await until(lambda: settled(h), "the outbox is empty")
    assert emu.stats.rate_limited == 0
    assert all(len(news_messages(h, c)) == 1 for _, c in channels)
    status = await h.store.news.status()
    assert status.deliveries["sent"] == 240
    sends = [r for r in emu.requests_to("POST", MESSAGES)]
    assert len(sends) == 240 and all(r.json.get("enforce_nonce") for r in sends)


async def test_stopped_mid_fan_out_and_restarted_posts_the_rest_once(harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    channels = []
    for g, guild in enumerate(emu.config.guilds):
        for i in range(40):
            spec = ChannelSpec(fixed_id(200_000 + g * 1000 + i), f"news-{i}", 0)
            await emu.add_channel(guild.id, spec)
            channels.append((g, spec.id))
    await until(lambda: all(h.bot.get_channel(c) for _, c in channels), "channels cached")
    for g, channel in channels:
        await subscribe_directly(h, channel, g)

    await engine_of(h).publish(owner_draft(1))
    await until(lambda: emu.stats.messages_created >= 30, "the fan-out is under way")
    await h.restart()  # stops mid-flight: some sends are claimed, some are on the wire
    # As if the crash came between Discord creating a message and the bot recording it:
    # the row says 'sending' although the message exists.
    [one] = [d for d in await h.store.news.deliveries() if d.state == "sent"][:1]
    async with h.store.database.transaction() as db:
        await db.execute("UPDATE news_deliveries SET state = 'sending' WHERE id = ?", (one.id,))
    await h.restart()

    await until(lambda: settled(h), "the rest is delivered after the restart", within=30)
    assert all(len(news_messages(h, c)) == 1 for _, c in channels)
    assert emu.stats.messages_created == len(channels)
    assert emu.stats.nonce_duplicates >= 1  # the re-send was answered with the first message
    assert (await h.store.news.status()).deliveries["sent"] == len(channels)
    assert emu.stats.rate_limited == 0


async def test_lost_permissions_pause_tell_the_server_and_resume_when_fixed(
        harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    moderator = emu.config.guilds[0].member("moderator").user.id
    await subscribe_directly(h, general)
    await emu.set_bot_permissions(general, deny=Perm.SEND_MESSAGES)

    engine = engine_of(h)
    await engine.publish(owner_draft(1))
    await engine.publish(owner_draft(2))  # queued behind the first, not lost
    await until(lambda: emu.dms(moderator) != [], "the subscriber is told")
    sub = await h.store.news.subscription(general)
    assert sub is not None and sub.state == "paused" and "Missing Permissions" in sub.last_error
    [notice] = emu.dms(moderator)
    assert f"<#{general}>" in notice.content and "**Send Messages**" in notice.content
    assert notice.allowed_mentions == {"parse": []}
    attempts = len(emu.requests_to("POST", MESSAGES))

    # Nothing hammers the channel while paused, even if woken.
    engine.wake()
    await asyncio.sleep(0.2)
    assert len(emu.requests_to("POST", MESSAGES)) == attempts

    # An admin fixes the channel: the bot notices and posts both, in order, without waiting.
    await emu.set_bot_permissions(general)
    await until(lambda: len(news_messages(h, general)) == 2, "both items after the fix")
    assert [m.embed["title"] for m in news_messages(h, general)] == ["News 1", "News 2"]
    sub = await h.store.news.subscription(general)
    assert sub is not None and sub.state == "active"
    assert len(emu.dms(moderator)) == 1  # told once


async def test_a_403_backs_off_and_resumes_by_itself(harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    fault = emu.faults.forbidden(general, code=50001)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: fault.hits >= 1, "the send is refused")
    await until(lambda: _paused(h, general), "the subscription is paused")

    # The cache says the bot may speak there, but Discord refuses: the notice falls back to
    # the member who subscribed (this server has no system channel).
    moderator = emu.config.guilds[0].member("moderator").user.id
    await until(lambda: len(emu.dms(moderator)) == 1, "the subscriber is told")

    emu.faults.remove(fault)
    h.advance(seconds=59)
    engine_of(h).wake()
    await asyncio.sleep(0.1)
    assert news_messages(h, general) == []  # still backing off
    h.advance(seconds=2)
    engine_of(h).wake()
    await until(lambda: len(news_messages(h, general)) == 1, "resumed after the backoff")


async def test_the_pause_notice_goes_in_the_channel_when_the_bot_can_still_speak_there(
        harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    await subscribe_directly(h, general)
    emu.faults.forbidden(general, code=50013, times=1)  # only the news post is refused
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: len(emu.channel_messages(general)) == 1, "the notice is posted")
    [notice] = emu.channel_messages(general)
    assert "I can't post Heartstopper news" in notice.content and notice.embeds == []
    assert "Discord says: Missing Permissions" in notice.content  # the cache knew of nothing
    h.advance(minutes=2)
    engine_of(h).wake()
    await until(lambda: len(news_messages(h, general)) == 1, "the post follows the retry")


async def _paused(h: Harness, channel_id: int) -> bool:
    sub = await h.store.news.subscription(channel_id)
    return sub is not None and sub.state == "paused"


async def test_unknown_channel_ends_and_deleted_channels_or_servers_too(
        harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    gone, deleted, kicked = (h.channel_id("general", 0), h.channel_id("announcements", 0),
                             h.channel_id("general", 2))
    kept = h.channel_id("general", 1)
    for g, channel in ((0, gone), (0, deleted), (2, kicked), (1, kept)):
        await subscribe_directly(h, channel, g)
    emu.faults.unknown_channel(gone)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: len(news_messages(h, kept)) == 1, "the healthy channel gets it")
    await until(lambda: _state(h, gone, "ended"), "10003 ends the subscription")
    assert [d.state for d in await h.store.news.deliveries()
            if d.subscription_id == (await h.store.news.subscription(gone)).id] == ["cancelled"]

    await emu.delete_channel(deleted)
    await emu.remove_guild(emu.config.guilds[2].id)
    await until(lambda: _state(h, deleted, "ended"), "channel delete ends it")
    await until(lambda: _state(h, kicked, "ended"), "leaving the server ends it")
    published = await engine_of(h).publish(owner_draft(2))
    assert published.deliveries == 1


async def test_a_server_left_while_offline_ends_at_the_next_start(harness: Harness) -> None:
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    elsewhere = fixed_id(77_777)  # a channel of a server the bot is no longer in
    await h.store.news.subscribe(fixed_id(77_000), elsewhere, role_id=None, publish=False,
                                 subscribed_by=None, now=h.now)
    await subscribe_directly(h, general)
    await h.restart()
    await until(lambda: _state(h, elsewhere, "ended"), "the subscription ends")
    assert await _state(h, general, "active")
    assert (await engine_of(h).publish(owner_draft(1))).deliveries == 1
    await until(lambda: len(news_messages(h, general)) == 1, "the post arrives")
    assert [r for r in emu.requests if str(elsewhere) in r.path] == []


async def _state(h: Harness, channel_id: int, state: str) -> bool:
    sub = await h.store.news.subscription(channel_id)
    return sub is not None and sub.state == state


async def test_server_errors_back_off_and_bad_requests_fail_without_retry(
        harness3: Harness) -> None:
    h, emu = harness3, harness3.emu
    flaky, broken = h.channel_id("general", 0), h.channel_id("general", 1)
    await subscribe_directly(h, flaky, 0)
    await subscribe_directly(h, broken, 1)
    emu.faults.server_error("POST", MESSAGES, status=503, times=1)
    emu.faults.add("POST", MESSAGES, channel_id=broken, status=400, code=50035)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: _delivery_state(h, broken, "failed"), "400 fails at once")
    h.advance(seconds=6)
    engine_of(h).wake()
    await until(lambda: len(news_messages(h, flaky)) == 1, "503 is retried after backoff")
    h.advance(hours=2)
    engine_of(h).wake()
    await asyncio.sleep(0.1)
    broken_sends = [r for r in emu.requests_to("POST", MESSAGES) if str(broken) in r.path]
    assert len(broken_sends) == 1  # never retried as is


async def _delivery_state(h: Harness, channel_id: int, state: str) -> bool:
    sub = await h.store.news.subscription(channel_id)
    assert sub is not None
    return [d.state for d in await h.store.news.deliveries(subscription_id=sub.id)] == [state]


async def test_publishing_keeps_to_ten_an_hour_per_channel(harness: Harness) -> None:
    h, emu = harness, harness.emu
    announcements, general = h.channel_id("announcements"), h.channel_id("general")
    result = await emu.invoke("news subscribe", {"channel": announcements, "publish": True},
                              guild_id=h.guild_id, user="moderator")
    assert "publishing each post" in result.content
    await subscribe_directly(h, general)
    engine = engine_of(h)
    for n in range(12):
        await engine.publish(owner_draft(n))
    await until(lambda: len(news_messages(h, announcements)) == 12, "every post is sent")
    await until(lambda: emu.stats.publishes == 10, "ten are published")
    await until(lambda: len(news_messages(h, general)) == 12, "the other channel is not held up")
    await asyncio.sleep(0.2)
    assert emu.stats.publishes == 10 and emu.stats.publish_rate_limited == 0
    crossposted = [m.crossposted for m in news_messages(h, announcements)]
    assert crossposted == [True] * 10 + [False] * 2  # in order

    # An hour later (for Discord and for the bot) the last two go out.
    emu.clock.advance(3601)
    h.advance(seconds=3601)
    engine.wake()
    await until(lambda: emu.stats.publishes == 12, "the rest are published an hour later")
    assert emu.stats.publish_rate_limited == 0
    assert all(m.crossposted for m in news_messages(h, announcements))


async def test_an_already_crossposted_message_counts_as_published(harness: Harness) -> None:
    h, emu = harness, harness.emu
    announcements = h.channel_id("announcements")
    await subscribe_directly(h, announcements, publish=True)
    emu.faults.add("POST", MESSAGES + "/{message_id}/crosspost", status=400, code=40033, times=1)
    item = (await engine_of(h).publish(owner_draft(1))).item
    await until(lambda: _delivery_state(h, announcements, "sent"), "done")
    [delivery] = await h.store.news.deliveries(item_id=item.id)
    assert delivery.published_at is not None and delivery.last_error == "already published"


async def test_a_long_publish_rate_limit_waits_without_blocking(harness: Harness) -> None:
    h, emu = harness, harness.emu
    announcements, general = h.channel_id("announcements"), h.channel_id("general")
    await subscribe_directly(h, announcements, publish=True)
    await subscribe_directly(h, general)
    emu.faults.rate_limited("POST", MESSAGES + "/{message_id}/crosspost", retry_after=1800,
                            times=1)
    engine = engine_of(h)
    await engine.publish(owner_draft(1))
    await engine.publish(owner_draft(2))
    await until(lambda: len(news_messages(h, general)) == 2, "sends go on")
    await until(lambda: len(news_messages(h, announcements)) == 2, "sends go on there too")
    await asyncio.sleep(0.1)
    assert emu.stats.publishes == 0  # the first publish waits 30 min, the second behind it
    h.advance(seconds=1801)
    engine.wake()
    await until(lambda: emu.stats.publishes == 2, "published after the wait")


async def test_a_subscriber_with_closed_dms_is_not_told_and_nothing_breaks(
        harness: Harness) -> None:
    """The one DM sender (bot/core/dm.py) answers 'closed' instead of raising; the pause goes
    on and the next retry still happens."""
    h, emu = harness, harness.emu
    general = h.channel_id("general")
    moderator = emu.config.guilds[0].member("moderator").user.id
    emu.world.users[moderator].accepts_dms = False
    await subscribe_directly(h, general)
    fault = emu.faults.forbidden(general, code=50001)
    await engine_of(h).publish(owner_draft(1))
    await until(lambda: _paused(h, general), "the subscription is paused")
    await asyncio.sleep(0.1)
    assert emu.dms(moderator) == []
    emu.faults.remove(fault)
    h.advance(minutes=2)
    engine_of(h).wake()
    await until(lambda: len(news_messages(h, general)) == 1, "resumed after the backoff")
