"""The delivery engine: works through the outbox in the store until every delivery is done.

A dispatcher claims due deliveries (marking them in flight in the store before any request is
made) and hands them to a fixed set of workers; every request waits its turn at one token bucket
for the whole process. Each outcome is written back at once, so stopping the process at any
moment loses nothing: at the next start, in-flight rows are sent again with the same nonce and
Discord returns the first message instead of posting a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.news.budget import next_publish_slot
from bot.news.failures import Failure, Verdict, classify
from bot.news.timing import DeliveryTiming, backoff
from bot.render.news import NewsMessage, news_message
from bot.store import Store
from bot.store.models import DeliveryJob, NewsDraft, NewsSubscription, Published

log = logging.getLogger(__name__)


class Transport(Protocol):
    async def send(self, sub: NewsSubscription, message: NewsMessage, nonce: str) -> int: ...

    async def publish(self, sub: NewsSubscription, message_id: int) -> None: ...

    async def tell_paused(self, sub: NewsSubscription, reason: str) -> str | None: ...


class NewsEngine:
    def __init__(
        self,
        store: Store,
        transport: Transport,
        *,
        clock: Callable[[], datetime],
        timing: DeliveryTiming | None = None,
        ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.timing = timing or DeliveryTiming()
        self._clock = clock
        self._ready = ready
        self._wakeup = asyncio.Event()
        self._queue: asyncio.Queue[DeliveryJob] = asyncio.Queue(maxsize=self.timing.workers * 2)
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    @property
    def in_hand(self) -> int:
        """Claimed deliveries waiting for a worker."""
        return self._queue.qsize()

    async def start(self) -> None:
        if self.running:
            return
        resumed = await self.store.news.requeue_in_flight()
        if resumed:
            log.info("resuming %d news deliveries that were in flight at the last stop", resumed)
        self._queue = asyncio.Queue(maxsize=self.timing.workers * 2)
        self._tasks = [asyncio.create_task(self._dispatch(), name="news-dispatcher")]
        self._tasks += [asyncio.create_task(self._work(), name=f"news-worker-{i}")
                        for i in range(self.timing.workers)]

    async def stop(self) -> None:
        """Stop at once. Whatever is in flight stays marked so in the store and is resumed,
        with its nonce, at the next start."""
        tasks, self._tasks = self._tasks, []
        pending = set(tasks)
        for _ in range(5):
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
            if not pending:
                return
        log.error("news engine tasks did not stop: %s", [t.get_name() for t in pending])

    def wake(self) -> None:
        """Look at the outbox now (new deliveries, or a clock that moved)."""
        self._wakeup.set()

    async def publish(self, draft: NewsDraft) -> Published:
        """Store a news item and queue it for every subscriber, in one transaction, then wake
        the workers. Publishing a dedupe key that is already stored returns that item and
        creates nothing (`created` is False)."""
        published = await self.store.news.publish(draft, self._clock())
        if published.deliveries:
            self.wake()
        return published

    async def post_once(self, item_id: int, subscription_id: int) -> bool:
        """Queue one item for one subscription (never twice)."""
        queued = await self.store.news.enqueue(item_id, subscription_id, self._clock())
        if queued:
            self.wake()
        return queued

    # ---- dispatching ----------------------------------------------------------------------

    async def _dispatch(self) -> None:
        if self._ready is not None:
            await self._ready()
        while True:
            try:
                timeout = await self._dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("news dispatcher failed; trying again shortly")
                timeout = min(self.timing.retry_base, self.timing.idle_poll)
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set (workers set it while being cancelled), which would
            # leave stop() waiting forever for a dispatcher that keeps going.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    async def _dispatch_once(self) -> float:
        """Claim what is due into the free slots; return how long to wait before looking
        again (workers and publishers wake the dispatcher sooner)."""
        self._wakeup.clear()
        now = self._clock()
        room = self._queue.maxsize - self._queue.qsize()
        if room <= 0:
            return self.timing.idle_poll  # a worker finishing wakes us
        jobs = await self.store.news.claim_sends(now, room)
        if len(jobs) < room:
            jobs += await self.store.news.claim_publishes(now, room - len(jobs))
        for job in jobs:
            self._queue.put_nowait(job)
        if len(jobs) == room:
            return 0.0  # maybe more due: look again as soon as there is room
        due = await self.store.news.next_due()
        if due is None:
            return self.timing.idle_poll
        # Fell due while we were claiming: look again almost at once.
        return min(max((due - now).total_seconds(), 0.01), self.timing.idle_poll)

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                if job.delivery.state == "publishing":
                    await self._publish(job)
                else:
                    await self._send(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("news delivery %s failed unexpectedly", job.delivery.id)
                await self._requeue_after_bug(job)
            finally:
                self._queue.task_done()
                self._wakeup.set()

    async def _requeue_after_bug(self, job: DeliveryJob) -> None:
        # Soon, not after the long cap: if the post did reach Discord (say, the database was
        # locked when recording it), a re-send within the nonce window returns that message.
        with contextlib.suppress(Exception):
            when = self._clock() + timedelta(seconds=self.timing.retry_base)
            await self.store.news.retry_later(job.delivery.id, when, "internal error",
                                              publishing=job.delivery.state == "publishing")

    def _after(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)

    # ---- sending --------------------------------------------------------------------------

    async def _send(self, job: DeliveryJob) -> None:
        d, sub = job.delivery, job.subscription
        watched = await self.store.guilds.watched_season(sub.guild_id)
        message = news_message(job.item, role_id=sub.role_id, watched_season=watched)
        try:
            message_id = await self.transport.send(sub, message, d.nonce)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._send_failed(job, classify(exc), exc)
            return
        await self.store.news.mark_sent(d.id, message_id, self._clock(),
                                        then_publish=sub.publish)

    async def _send_failed(self, job: DeliveryJob, failure: Failure, exc: BaseException) -> None:
        d, sub, t = job.delivery, job.subscription, self.timing
        news = self.store.news
        match failure.verdict:
            case Verdict.WAIT:
                await news.retry_later(d.id, self._after(failure.retry_after or t.retry_base),
                                       failure.reason, refund=True)
            case Verdict.RETRY if d.attempts < t.max_attempts:
                log.warning("news delivery %s to channel %s: %s; retrying", d.id,
                            sub.channel_id, failure.reason)
                await news.retry_later(d.id, self._after(backoff(d.attempts, t.retry_base,
                                                                 t.retry_cap)), failure.reason)
            case Verdict.PAUSE:
                paused = await news.pause(d.id, sub.id,
                                          self._after(backoff(d.attempts, t.pause_base,
                                                              t.pause_cap)),
                                          failure.reason, self._clock())
                if paused:
                    log.info("news paused in channel %s (guild %s): %s", sub.channel_id,
                             sub.guild_id, failure.reason)
                    await self.transport.tell_paused(sub, failure.reason)
            case Verdict.END:
                log.info("news subscription of channel %s ended: %s", sub.channel_id,
                         failure.reason)
                await news.end_subscription(sub.id, failure.reason, self._clock())
            case _:
                if failure.verdict is Verdict.RETRY:
                    reason = f"gave up after {d.attempts} tries: {failure.reason}"
                    log.error("news delivery %s to channel %s %s", d.id, sub.channel_id, reason)
                else:
                    reason = failure.reason
                    # What we built was rejected: a bug. Retrying the same request cannot work.
                    log.error("news delivery %s (item %s) to channel %s was rejected: %s",
                              d.id, job.item.id, sub.channel_id, reason, exc_info=exc)
                await news.fail(d.id, reason, self._clock())

    # ---- publishing (crossposting) --------------------------------------------------------

    async def _publish(self, job: DeliveryJob) -> None:
        d, sub, t = job.delivery, job.subscription, self.timing
        news = self.store.news
        now = self._clock()
        recent = await news.publish_times(sub.id, now - timedelta(seconds=t.publish_window))
        slot = next_publish_slot(recent, now, limit=t.publish_limit, window=t.publish_window)
        if slot is not None:
            # Over this channel's budget: wait for the slot without holding a worker.
            await news.retry_later(d.id, slot, None, publishing=True, refund=True)
            return
        assert d.message_id is not None
        try:
            await self.transport.publish(sub, d.message_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._publish_failed(job, classify(exc, publishing=True), exc)
            return
        await news.mark_published(d.id, self._clock())

    async def _publish_failed(self, job: DeliveryJob, failure: Failure,
                              exc: BaseException) -> None:
        d, sub, t = job.delivery, job.subscription, self.timing
        news = self.store.news
        match failure.verdict:
            case Verdict.DONE:
                await news.mark_published(d.id, self._clock(), note=failure.reason)
            case Verdict.WAIT:
                await news.retry_later(d.id, self._after(failure.retry_after or t.retry_base),
                                       failure.reason, publishing=True, refund=True)
            case Verdict.RETRY | Verdict.PAUSE if d.publish_attempts < t.publish_max_attempts:
                base, cap = ((t.pause_base, t.pause_cap) if failure.verdict is Verdict.PAUSE
                             else (t.retry_base, t.retry_cap))
                await news.retry_later(d.id, self._after(backoff(d.publish_attempts, base, cap)),
                                       failure.reason, publishing=True)
            case Verdict.END:
                await news.end_subscription(sub.id, failure.reason, self._clock())
            case _:
                # The post itself went out; only the crosspost is given up.
                if failure.verdict is Verdict.FAIL:
                    log.error("publishing news delivery %s in channel %s was rejected: %s",
                              d.id, sub.channel_id, failure.reason, exc_info=exc)
                await news.mark_published(d.id, self._clock(), published=False,
                                          note=f"not published: {failure.reason}")
