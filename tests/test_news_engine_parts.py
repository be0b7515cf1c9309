"""The engine's pure parts: the pacer, the publish budget, backoff, failure classification."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.news.budget import next_publish_slot
from bot.news.failures import Verdict, classify, classify_http
from bot.news.pacer import TokenBucket
from bot.news.permissions import missing_post_permissions
from bot.news.timing import DeliveryTiming, backoff

T0 = datetime(2024, 10, 3, 12, 0, tzinfo=UTC)


class VirtualTime:
    """A clock that only moves when the pacer sleeps, so pacing is checked exactly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.parametrize(("rate", "capacity"), [(45.0, 1.0), (50.0, 1.0), (10.0, 5.0)])
async def test_token_bucket_never_exceeds_its_rate_in_any_window(rate: float,
                                                                 capacity: float) -> None:
    time = VirtualTime()
    bucket = TokenBucket(rate, capacity=capacity, clock=time.clock, sleep=time.sleep)
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(40):
            await bucket.acquire()
            stamps.append(time.now)

    await asyncio.gather(*(worker() for _ in range(8)))  # 320 requests from 8 workers
    stamps.sort()
    assert len(stamps) == 320 and bucket.acquired == 320
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < start + 1.0)
        assert in_window <= capacity + rate
    # ...and it does not go needlessly slow: the whole run takes what the rate implies.
    assert stamps[-1] - stamps[0] == pytest.approx((320 - capacity) / rate, rel=0.01)


@pytest.mark.parametrize(("lateness", "slowest"), [
    ([0.001], 44.5),  # every sleeper wakes 1 ms late: the pace must not pay for it each time
    ([0.001] * 9 + [0.060], 38.0),  # and stalls now and then: catching up must not crowd
])
async def test_token_bucket_when_woken_late(lateness: list[float], slowest: float) -> None:
    time = VirtualTime()
    wakes = itertools.cycle(lateness)

    async def late_sleep(seconds: float) -> None:
        await time.sleep(seconds + next(wakes))

    bucket = TokenBucket(45.0, clock=time.clock, sleep=late_sleep)
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(60):
            await bucket.acquire()
            stamps.append(time.now)

    await asyncio.gather(*(worker() for _ in range(8)))
    stamps.sort()
    assert (len(stamps) - 1) / (stamps[-1] - stamps[0]) >= slowest
    for i, start in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t < start + 1.0) <= 46


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        TokenBucket(10, capacity=0.5)


def test_publish_budget_allows_ten_an_hour_per_channel() -> None:
    minutes = [T0 + timedelta(minutes=m) for m in range(10)]
    assert next_publish_slot(minutes[:9], T0 + timedelta(minutes=10), limit=10,
                             window=3600) is None
    # The eleventh waits until the oldest of the last ten is an hour old.
    assert next_publish_slot(minutes, T0 + timedelta(minutes=10), limit=10,
                             window=3600) == T0 + timedelta(hours=1)
    assert next_publish_slot(minutes, T0 + timedelta(hours=1, seconds=1), limit=10,
                             window=3600) is None
    # Unordered input and old entries are handled.
    old = [T0 - timedelta(hours=5), *reversed(minutes)]
    assert next_publish_slot(old, T0 + timedelta(minutes=30), limit=10,
                             window=3600) == T0 + timedelta(hours=1)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff(0, 5, 60) == 5 and backoff(10_000, 5, 60) == 60
    with pytest.raises(ValueError):
        DeliveryTiming(workers=0)


@pytest.mark.parametrize(
    ("status", "code", "publishing", "verdict"),
    [
        (403, 50001, False, Verdict.PAUSE),
        (403, 50013, False, Verdict.PAUSE),
        (404, 10003, False, Verdict.END),
        (404, 10004, False, Verdict.END),
        (500, 0, False, Verdict.RETRY),
        (502, 0, False, Verdict.RETRY),
        (503, 0, False, Verdict.RETRY),
        (429, 0, False, Verdict.RETRY),
        (400, 50035, False, Verdict.FAIL),
        (400, 40033, True, Verdict.DONE),
        (400, 40033, False, Verdict.FAIL),
        (404, 10008, True, Verdict.FAIL),
        (401, 0, False, Verdict.FAIL),
    ],
)
def test_http_failures_are_classified(status: int, code: int, publishing: bool,
                                      verdict: Verdict) -> None:
    failure = classify_http(status, code, "msg", publishing=publishing)
    assert failure.verdict is verdict
    assert failure.reason and len(failure.reason) <= 300


def test_exceptions_without_a_response_are_classified() -> None:
    limited = classify(discord.RateLimited(1200.0), publishing=True)
    assert limited.verdict is Verdict.WAIT and limited.retry_after == 1200.0
    assert classify(TimeoutError()).verdict is Verdict.RETRY
    assert classify(ConnectionResetError()).verdict is Verdict.RETRY
    assert classify(KeyError("embed")).verdict is Verdict.FAIL


def test_missing_permissions_are_named_as_in_discord() -> None:
    assert missing_post_permissions(discord.Permissions(
        view_channel=True, send_messages=True, embed_links=True,
        read_message_history=True)) == []
    assert missing_post_permissions(discord.Permissions(view_channel=True,
                                                        read_message_history=True)) == [
        "Send Messages", "Embed Links"]
    assert missing_post_permissions(discord.Permissions.none()) == [
        "View Channel", "Send Messages", "Embed Links", "Read Message History"]
