"""Follow mode's parts on a real SQLite file (the outbox leaves following channels to Discord,
the hub is one subscription, follows are checked least-recently first), its setting, and what
the replies say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.config import ConfigError, parse_settings
from bot.news.health import EngineHealth
from bot.news.models import NewsStatus
from bot.news.render import (
    FOLLOW_LIMITS,
    following_text,
    hub_wait_text,
    status_embed,
    subscription_line,
    subscriptions_embed,
)
from bot.news.store import FOLLOW_REMOVED, HUB_MOVED, HUB_OFF
from bot.store import Store
from tests.test_news_store import GUILD, T0, draft, subscribe

HUB_GUILD, HUB = 900, 901


async def follow(store: Store, channel_id: int, webhook_id: int, *, at: datetime = T0):
    return await store.news.subscribe(GUILD, channel_id, role_id=None, publish=False,
                                      subscribed_by=7, now=at, mode="follow",
                                      webhook_id=webhook_id)


async def test_the_outbox_posts_to_the_hub_and_per_channel_subscribers_never_to_followers(
        store: Store) -> None:
    hub = await store.news.ensure_hub(HUB_GUILD, HUB, T0)
    assert hub.is_hub and hub.publish and hub.role_id is None and hub.subscribed_by is None
    plain = await subscribe(store, 1)
    following = await follow(store, 2, webhook_id=55)
    assert following.follows and following.webhook_id == 55

    published = await store.news.publish(draft(), T0)
    assert published.deliveries == 2 and published.following == 1 and published.to_hub
    queued = {d.subscription_id for d in await store.news.deliveries(item_id=published.item.id)}
    assert queued == {hub.id, plain.id}
    # The "post the latest" offer is not for a following channel either.
    assert not await store.news.enqueue(published.item.id, following.id, T0)
    assert (await store.news.status()).following == 1

    # The hub posts and then publishes, like any channel subscribed with publish on.
    jobs = await store.news.claim_sends(T0, 10)
    for job in jobs:
        await store.news.mark_sent(job.delivery.id, 1000 + job.delivery.id, T0,
                                   then_publish=job.subscription.publish)
    [publish] = await store.news.claim_publishes(T0, 10)
    assert publish.subscription.id == hub.id


async def test_the_hub_follows_the_setting(store: Store) -> None:
    first = await store.news.ensure_hub(HUB_GUILD, HUB, T0)
    assert (await store.news.ensure_hub(HUB_GUILD, HUB, T0)).id == first.id  # idempotent
    await store.news.publish(draft("owner:1"), T0)
    moved = await store.news.ensure_hub(HUB_GUILD, HUB + 1, T0)  # NEWS_HUB_CHANNEL_ID changed
    old = await store.news.subscription(HUB)
    assert old is not None and old.state == "ended" and "another channel" in (old.end_reason
                                                                             or "")
    assert [d.state for d in await store.news.deliveries(subscription_id=first.id)] == [
        "cancelled"]
    assert moved.state == "active" and moved.is_hub
    assert await store.news.end_hubs("NEWS_HUB_CHANNEL_ID is not set", T0) == 1
    assert (await store.news.publish(draft("owner:2"), T0)).to_hub is False


async def test_follows_are_checked_least_recently_first(store: Store) -> None:
    a = await follow(store, 1, 11, at=T0)
    b = await follow(store, 2, 12, at=T0 + timedelta(hours=1))
    await subscribe(store, 3)  # per-channel: nothing to check
    day_later = T0 + timedelta(days=1, minutes=30)
    due = await store.news.follows_due(day_later - timedelta(days=1), 10)
    assert [s.id for s in due] == [a.id]
    await store.news.follow_checked(a.id, day_later)
    due = await store.news.follows_due(T0 + timedelta(days=3) - timedelta(days=1), 10)
    assert [s.id for s in due] == [b.id, a.id]
    await store.news.follow_checked(b.id, day_later, "cannot check the follow: missing "
                                                     "Manage Webhooks")
    checked = await store.news.subscription(2)
    assert checked is not None and checked.last_error and checked.follow_checked_at


async def test_a_follow_ended_by_hand_is_listed_and_one_unsubscribed_is_not(
        store: Store) -> None:
    gone = await follow(store, 1, 11)
    await follow(store, 2, 12)
    await store.news.end_subscription(gone.id, FOLLOW_REMOVED, T0)
    await store.news.unsubscribe(GUILD, 2, T0)
    ended = await store.news.ended_follows(GUILD, T0 - timedelta(days=30))
    assert [s.channel_id for s in ended] == [1]
    embed = subscriptions_embed([], ended)
    assert embed.description is not None
    assert "<#1> · follow **ended**" in embed.description
    assert "deleted in the channel's settings" in embed.description
    assert "No channel here gets news now" in embed.description
    # Following again brings it back, active, with the new webhook.
    again = await follow(store, 1, 21)
    assert again.state == "active" and again.webhook_id == 21 and again.end_reason is None
    assert await store.news.ended_follows(GUILD, T0 - timedelta(days=30)) == []


async def test_lines_and_replies_say_what_follow_mode_cannot_do(store: Store) -> None:
    sub = await follow(store, 5, 50)
    line = subscription_line(sub)
    assert line.startswith("<#5> · follows the news hub") and "last post" not in line
    hub = await store.news.ensure_hub(HUB_GUILD, HUB, T0)
    assert "**the news hub**" in subscription_line(hub)
    assert "publishes to followers" not in subscription_line(hub)
    text = following_text(sub, hub_name="Fan HQ #news", renewed=False, switched=True)
    assert FOLLOW_LIMITS in text and "Fan HQ #news" in text
    assert "no role ping" in text and "spoiler" in text and "hub's server" in text
    assert "about 10 publishes an hour" in text and len(text) <= 2000


def test_the_hub_setting_is_off_by_default_and_must_be_a_channel_id() -> None:
    assert parse_settings({}).news_hub_channel_id is None
    assert parse_settings({"NEWS_HUB_CHANNEL_ID": " 1234 "}).news_hub_channel_id == 1234
    with pytest.raises(ConfigError, match="NEWS_HUB_CHANNEL_ID must be a Discord ID"):
        parse_settings({"NEWS_HUB_CHANNEL_ID": "#news"})
    assert "news_hub_channel_id=1234" in repr(parse_settings({"NEWS_HUB_CHANNEL_ID": "1234"}))


def test_status_counts_the_following_channels() -> None:
    status = NewsStatus(items={}, deliveries={s: 0 for s in (
        "pending", "sending", "publish_pending", "publishing", "sent", "failed", "cancelled")},
        subscriptions={"active": 3, "paused": 0, "ended": 0}, following=2)
    health = EngineHealth(running=True, in_hand=0, unrecorded=0, unrecorded_for=None,
                          store_trouble_for=None, last_store_error=None)
    embed = status_embed(status, rate=45, max_rate=50, health=health,
                         now=datetime(2026, 1, 1, tzinfo=UTC))
    field = next(f for f in embed.fields if f.name == "Subscriptions")
    assert "Following the news hub: 2 channels" in (field.value or "")


async def test_follows_end_with_their_hub_and_only_while_they_are_that_follow(
        store: Store) -> None:
    await store.news.ensure_hub(HUB_GUILD, HUB, T0)
    moved = await follow(store, 1, 11)
    assert (await store.news.ensure_hub(HUB_GUILD, HUB, T0)).channel_id == HUB
    assert (await store.news.subscription(1)).state == "active"  # type: ignore[union-attr]
    await store.news.ensure_hub(HUB_GUILD, HUB + 1, T0)
    ended = await store.news.subscription(1)
    assert ended is not None and ended.state == "ended" and ended.end_reason == HUB_MOVED
    again = await follow(store, 1, 12)
    assert again.id == moved.id and again.state == "active"
    # A check that read the follow with its old webhook, or before a switch back, ends nothing.
    assert not await store.news.end_follow(again.id, 11, FOLLOW_REMOVED, T0)
    await subscribe(store, 1)
    assert not await store.news.end_follow(again.id, 12, FOLLOW_REMOVED, T0)
    assert (await store.news.subscription(1)).state == "active"  # type: ignore[union-attr]
    await follow(store, 2, 21)
    assert await store.news.end_hubs("NEWS_HUB_CHANNEL_ID is not set", T0) == 1
    off = await store.news.subscription(2)
    assert off is not None and off.state == "ended" and off.end_reason == HUB_OFF
    kept = await store.news.subscription(1)  # per-channel: untouched
    assert kept is not None and kept.state == "active"


def test_the_switch_refusal_names_the_items_and_when_to_try_again() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    later = now + timedelta(minutes=40)
    text = hub_wait_text(5, ["A" * 300, "B", "C", "D", "E"], eta=later, now=now)
    assert text.startswith("<#5> can't switch to follow mode yet")
    assert "**B**" in text and "2 more items" in text and "A" * 101 not in text
    assert f"<t:{int(later.timestamp())}:t>" in text and "Nothing changed" in text
    assert len(text) <= 2000
    soon = hub_wait_text(5, ["One"], eta=now, now=now)
    assert "**One**" in soon and "in a minute or so" in soon and "published it yet" in soon
