"""The news outbox on a real SQLite file: fan-out, dedupe, claiming, recovery, state changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.canon.seeding import load_seed
from bot.core.config import DEFAULT_SEED_DIR
from bot.news.models import NewsDraft
from bot.store import Store

T0 = datetime(2024, 10, 3, 12, 0, tzinfo=UTC)
GUILD = 111


def draft(key: str = "owner:1", **changes: object) -> NewsDraft:
    values: dict[str, object] = {"dedupe_key": key, "title": "Season 3 date announced",
                                 "body": "It arrives in October.", "published": "2024-10-03",
                                 "origin": "owner", "season": 3}
    values.update(changes)
    return NewsDraft(**values)  # type: ignore[arg-type]


async def subscribe(store: Store, channel_id: int, guild_id: int = GUILD, *,
                    publish: bool = False, role_id: int | None = None):
    return await store.news.subscribe(guild_id, channel_id, role_id=role_id, publish=publish,
                                      subscribed_by=7, now=T0)


async def test_publish_queues_one_delivery_per_live_subscription(store: Store) -> None:
    a = await subscribe(store, 1)
    b = await subscribe(store, 2)
    gone = await subscribe(store, 3)
    await store.news.unsubscribe(GUILD, gone.channel_id, T0)
    # A paused subscription still gets the item: it is posted once the channel works again.
    await store.news.pause(0, b.id, T0, "Missing Permissions", T0)

    published = await store.news.publish(draft(), T0)

    assert published.created and published.deliveries == 2
    deliveries = await store.news.deliveries(item_id=published.item.id)
    assert sorted(d.subscription_id for d in deliveries) == [a.id, b.id]
    assert all(d.state == "pending" and d.attempts == 0 for d in deliveries)
    nonces = [d.nonce for d in deliveries]
    assert len(set(nonces)) == 2 and all(1 <= len(n) <= 25 for n in nonces)
    assert published.item.origin == "owner" and published.item.season == 3


async def test_publishing_a_known_key_returns_the_item_and_creates_nothing(store: Store) -> None:
    await subscribe(store, 1)
    first = await store.news.publish(draft("feed:abc", origin="feed"), T0)
    again = await store.news.publish(draft("feed:abc", origin="feed", title="Changed"), T0)
    assert again.item == first.item
    assert not again.created and again.deliveries == 0
    assert len(await store.news.deliveries()) == 1


async def test_seed_items_are_never_fanned_out(store: Store) -> None:
    await subscribe(store, 1)
    await store.canon.apply_seed(load_seed(DEFAULT_SEED_DIR))
    assert await store.news.latest(1)  # the history is there
    assert await store.news.deliveries() == []
    with pytest.raises(ValueError, match="seed"):
        await store.news.publish(draft(origin="seed"), T0)


async def test_claims_one_delivery_per_channel_in_order(store: Store) -> None:
    a = await subscribe(store, 1)
    b = await subscribe(store, 2)
    first = (await store.news.publish(draft("owner:1"), T0)).item
    second = (await store.news.publish(draft("owner:2"), T0)).item

    jobs = await store.news.claim_sends(T0, 10)
    assert [(j.subscription.id, j.item.id) for j in jobs] == [(a.id, first.id), (b.id, first.id)]
    assert all(j.delivery.state == "sending" and j.delivery.attempts == 1 for j in jobs)
    # The second item waits until the first is out in each channel.
    assert await store.news.claim_sends(T0, 10) == []

    await store.news.mark_sent(jobs[0].delivery.id, 900, T0, then_publish=False)
    jobs = await store.news.claim_sends(T0, 10)
    assert [(j.subscription.id, j.item.id) for j in jobs] == [(a.id, second.id)]


async def test_nothing_is_claimed_before_it_is_due(store: Store) -> None:
    await subscribe(store, 1)
    await store.news.publish(draft(), T0)
    [job] = await store.news.claim_sends(T0, 10)
    later = T0 + timedelta(seconds=30)
    await store.news.retry_later(job.delivery.id, later, "HTTP 503")
    assert await store.news.claim_sends(T0 + timedelta(seconds=29), 10) == []
    assert await store.news.next_due() == later
    [again] = await store.news.claim_sends(later, 10)
    assert again.delivery.attempts == 2 and again.delivery.nonce == job.delivery.nonce


async def test_in_flight_rows_are_requeued_with_the_same_nonce(db_path, store: Store) -> None:
    await subscribe(store, 1, publish=True)
    await subscribe(store, 2)
    await store.news.publish(draft(), T0)
    sending = await store.news.claim_sends(T0, 10)
    await store.news.mark_sent(sending[0].delivery.id, 900, T0, then_publish=True)
    [publishing] = await store.news.claim_publishes(T0, 10)
    await store.close()

    # As after a crash: a new process opens the same file.
    async with await Store.open(db_path) as reopened:
        assert await reopened.news.requeue_in_flight(T0) == 2
        [resend] = await reopened.news.claim_sends(T0, 10)
        assert resend.delivery.id == sending[1].delivery.id
        assert resend.delivery.nonce == sending[1].delivery.nonce
        # The first try may have gone out: from when is kept, for a re-send long after.
        assert resend.delivery.unsure_since == T0
        [republish] = await reopened.news.claim_publishes(T0, 10)
        assert republish.delivery.id == publishing.delivery.id
        assert republish.delivery.message_id == 900


async def test_publish_step_and_budget_times(store: Store) -> None:
    sub = await subscribe(store, 1, publish=True)
    item = (await store.news.publish(draft(), T0)).item
    [job] = await store.news.claim_sends(T0, 10)
    await store.news.mark_sent(job.delivery.id, 900, T0, then_publish=True)
    [pub] = await store.news.claim_publishes(T0, 10)
    assert pub.delivery.state == "publishing" and pub.delivery.publish_attempts == 1
    published_at = T0 + timedelta(seconds=5)
    await store.news.mark_published(pub.delivery.id, published_at)

    [done] = await store.news.deliveries(item_id=item.id)
    assert done.state == "sent" and done.message_id == 900 and done.published_at == published_at
    assert await store.news.publish_times(sub.id, T0) == [published_at]
    assert await store.news.publish_times(sub.id, published_at + timedelta(seconds=1)) == []


async def test_a_budget_wait_is_not_counted_as_an_attempt(store: Store) -> None:
    await subscribe(store, 1, publish=True)
    await store.news.publish(draft(), T0)
    [job] = await store.news.claim_sends(T0, 10)
    await store.news.mark_sent(job.delivery.id, 900, T0, then_publish=True)
    [pub] = await store.news.claim_publishes(T0, 10)
    await store.news.retry_later(pub.delivery.id, T0 + timedelta(hours=1), None,
                                 publishing=True, refund=True)
    [row] = await store.news.deliveries()
    assert row.state == "publish_pending" and row.publish_attempts == 0


async def test_pause_tells_once_and_a_successful_send_resumes(store: Store) -> None:
    sub = await subscribe(store, 1)
    await store.news.publish(draft(), T0)
    [job] = await store.news.claim_sends(T0, 10)
    assert await store.news.pause(job.delivery.id, sub.id, T0, "Missing Permissions", T0)
    [job] = await store.news.claim_sends(T0, 10)
    assert not await store.news.pause(job.delivery.id, sub.id, T0, "Missing Permissions", T0)
    paused = await store.news.subscription(1)
    assert paused is not None and paused.state == "paused"
    assert paused.last_error == "Missing Permissions"

    [job] = await store.news.claim_sends(T0, 10)
    await store.news.mark_sent(job.delivery.id, 900, T0 + timedelta(minutes=5),
                               then_publish=False)
    active = await store.news.subscription(1)
    assert active is not None and active.state == "active"
    assert active.last_delivery_at == T0 + timedelta(minutes=5)


async def test_ending_cancels_what_is_waiting_and_resubscribing_starts_afresh(
        store: Store) -> None:
    sub = await subscribe(store, 1)
    await store.news.publish(draft("owner:1"), T0)
    assert await store.news.end_channel(1, "the channel was deleted", T0)
    assert not await store.news.end_channel(1, "the channel was deleted", T0)
    [cancelled] = await store.news.deliveries()
    assert cancelled.state == "cancelled"
    assert await store.news.subscriptions(GUILD) == []
    assert await store.news.claim_sends(T0, 10) == []

    again = await subscribe(store, 1, role_id=55)
    assert again.id == sub.id and again.state == "active" and again.role_id == 55
    published = await store.news.publish(draft("owner:2"), T0)
    assert published.deliveries == 1


async def test_end_guild_and_unsubscribe(store: Store) -> None:
    await subscribe(store, 1)
    await subscribe(store, 2)
    await subscribe(store, 3, guild_id=222)
    assert not await store.news.unsubscribe(222, 1, T0)  # another server's channel
    assert await store.news.end_guild(GUILD, "the bot left the server", T0) == 2
    assert [s.channel_id for s in await store.news.subscriptions(222)] == [3]
    status = await store.news.status()
    assert status.subscriptions == {"active": 1, "paused": 0, "ended": 2}


async def test_post_once_is_idempotent(seeded_store: Store) -> None:
    sub = await subscribe(seeded_store, 1)
    [latest] = await seeded_store.news.latest(1)
    assert await seeded_store.news.enqueue(latest.id, sub.id, T0)
    assert not await seeded_store.news.enqueue(latest.id, sub.id, T0)
    assert len(await seeded_store.news.deliveries()) == 1


async def test_failed_and_status_counts(store: Store) -> None:
    await subscribe(store, 1)
    await subscribe(store, 2)
    await store.news.publish(draft(), T0)
    jobs = await store.news.claim_sends(T0, 10)
    await store.news.fail(jobs[0].delivery.id, "HTTP 400 50035: Invalid Form Body", T0)
    await store.news.mark_sent(jobs[1].delivery.id, 901, T0, then_publish=False)
    status = await store.news.status()
    assert status.items == {"owner": 1}
    assert status.deliveries["failed"] == 1 and status.deliveries["sent"] == 1
    sub = await store.news.subscription(1)
    assert sub is not None and sub.last_error == "HTTP 400 50035: Invalid Form Body"


async def test_retry_now_brings_waiting_deliveries_forward(store: Store) -> None:
    sub = await subscribe(store, 1)
    await store.news.publish(draft(), T0)
    [job] = await store.news.claim_sends(T0, 10)
    await store.news.pause(job.delivery.id, sub.id, T0 + timedelta(hours=1), "Missing Access", T0)
    assert await store.news.retry_now([sub.id], T0) == 1
    assert len(await store.news.claim_sends(T0, 10)) == 1


async def test_a_deleted_role_is_forgotten(store: Store) -> None:
    await subscribe(store, 1, role_id=55)
    await subscribe(store, 2, role_id=56)
    assert await store.news.forget_role(GUILD, 55, T0) == 1
    assert [(s.channel_id, s.role_id) for s in await store.news.subscriptions(GUILD)] == [
        (1, None), (2, 56)]


async def test_an_ended_subscription_stays_ended_whatever_a_worker_writes(store: Store) -> None:
    sub = await subscribe(store, 1)
    await store.news.publish(draft(), T0)
    [job] = await store.news.claim_sends(T0, 10)
    await store.news.unsubscribe(GUILD, sub.channel_id, T0)
    # The in-flight worker now reports a passing failure, then a pause: neither revives it.
    await store.news.retry_later(job.delivery.id, T0, "HTTP 503")
    await store.news.pause(job.delivery.id, sub.id, T0, "Missing Access", T0)
    await store.news.fail(job.delivery.id, "boom", T0)
    [delivery] = await store.news.deliveries()
    assert delivery.state == "cancelled"
    assert await store.news.claim_sends(T0 + timedelta(days=1), 10) == []


async def test_a_post_made_just_before_the_end_is_recorded_but_not_published(
        store: Store) -> None:
    sub = await subscribe(store, 1, publish=True)
    await store.news.publish(draft(), T0)
    [job] = await store.news.claim_sends(T0, 10)
    await store.news.unsubscribe(GUILD, sub.channel_id, T0)
    await store.news.mark_sent(job.delivery.id, 999, T0, then_publish=True)
    [delivery] = await store.news.deliveries()
    assert delivery.state == "sent" and delivery.message_id == 999
    assert await store.news.claim_publishes(T0 + timedelta(days=1), 10) == []


async def test_a_pause_does_not_use_up_attempts(store: Store) -> None:
    sub = await subscribe(store, 1)
    await store.news.publish(draft(), T0)
    for hour in range(20):
        now = T0 + timedelta(hours=hour)
        [job] = await store.news.claim_sends(now, 10)
        await store.news.pause(job.delivery.id, sub.id, now, "Missing Access", now)
    [delivery] = await store.news.deliveries()
    assert delivery.state == "pending" and delivery.attempts == 0
