"""The delivery engine: works through the outbox in the store until every delivery is done.

A dispatcher claims due deliveries (marking them in flight in the store, with this run's token,
before any request is made) and hands them to a fixed set of workers; every request waits its
turn at one token bucket for the whole process. Each outcome is written back at once; an outcome
the store refuses (locked by another process, disk full, I/O error) is kept in memory and
written again and again until it lands, without holding up a worker or another channel.

Nothing sticks and nothing is posted twice:
- A row left in flight by a stopped or crashed process, or by this one with no worker holding it,
  goes back in the queue (at start, and every few seconds while running).
- A re-send soon after a try whose outcome was lost carries the same nonce, and Discord returns
  the first message instead of posting a second. Past the nonce's few minutes, the engine first
  reads the channel back for its own post of the item and records that instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from bot.core.database import StoreUnavailable
from bot.core.logs import delivery_context
from bot.news.budget import next_publish_slot
from bot.news.failures import Failure, Verdict, classify
from bot.news.health import EngineHealth
from bot.news.models import DeliveryJob, NewsDraft, NewsSubscription, Published
from bot.news.render import NewsMessage, news_message
from bot.news.timing import DeliveryTiming, backoff
from bot.news.transport import CannotCheck

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.news.store import HubWait
    from bot.store import Store

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]


class Transport(Protocol):
    async def send(self, sub: NewsSubscription, message: NewsMessage, nonce: str) -> int: ...

    async def publish(self, sub: NewsSubscription, message_id: int) -> None: ...

    async def tell_paused(self, sub: NewsSubscription, reason: str) -> str | None: ...

    async def find_sent(self, sub: NewsSubscription, item_id: int,
                        since: datetime) -> int | None: ...


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
        # A token per start: rows in flight under another token belong to a run that is gone.
        self.run_id = secrets.token_hex(8)
        self._held: set[int] = set()  # delivery ids this run claimed and has not finished
        self._unrecorded: dict[int, tuple[Write, float]] = {}  # id -> (write, since: loop time)
        self._recorder: asyncio.Task[None] | None = None
        self._store_trouble_since: float | None = None  # loop time of a failing streak
        self._next_sweep = 0.0
        self._draining = False  # set by drain(): claim nothing more
        self._working: set[int] = set()  # delivery ids a worker has taken off the queue

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    @property
    def in_hand(self) -> int:
        """Deliveries this run has claimed and not finished."""
        return len(self._held)

    def health(self) -> EngineHealth:
        now = asyncio.get_running_loop().time()
        oldest = min((since for _, since in self._unrecorded.values()), default=None)
        trouble = self._store_trouble_since
        return EngineHealth(
            running=self.running, in_hand=len(self._held), unrecorded=len(self._unrecorded),
            unrecorded_for=None if oldest is None else now - oldest,
            store_trouble_for=None if trouble is None else now - trouble,
            last_store_error=self.store.database.last_write_error,
        )

    async def start(self) -> None:
        if self.running:
            return
        self.run_id = secrets.token_hex(8)
        self._held.clear()
        self._working.clear()
        self._draining = False
        self._queue = asyncio.Queue(maxsize=self.timing.workers * 2)
        self._tasks = [asyncio.create_task(self._dispatch(), name="news-dispatcher")]
        self._tasks += [asyncio.create_task(self._work(), name=f"news-worker-{i}")
                        for i in range(self.timing.workers)]

    async def drain(self, within: float) -> int:
        """Stop gracefully: claim nothing more, hand deliveries claimed but not started back
        to the outbox (as they were: never tried by this run), let the sends in flight finish
        and their outcomes be written for up to `within` seconds, then stop. Returns how many
        deliveries were handed back: those not started, and those still unfinished at the
        deadline, which stay in flight in the store with their nonce and are resumed by the
        next start without being posted twice."""
        if not self.running:
            await self.stop()
            return 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        self._draining = True
        self._wakeup.set()
        dispatcher = next((t for t in self._tasks if t.get_name() == "news-dispatcher"), None)
        if dispatcher is not None and not dispatcher.done():
            # It returns at its next look; a claim under way is let finish (then handed back).
            await asyncio.wait({dispatcher}, timeout=max(deadline - loop.time(), 0.0) / 2)
            if not dispatcher.done():
                dispatcher.cancel()
        not_started: list[DeliveryJob] = []
        while not self._queue.empty():
            not_started.append(self._queue.get_nowait())
            self._queue.task_done()
        # Rows of this run that no worker holds (a claim cut short, or the jobs just taken off
        # the queue) go back as they were, without counting a try.
        for job in not_started:
            self._held.discard(job.delivery.id)
        returned = 0
        now = self._clock()
        for job in not_started:
            try:
                await self.store.news.retry_later(
                    job.delivery.id, now, job.delivery.last_error,
                    publishing=job.delivery.state == "publishing", refund=True)
            except Exception as exc:  # stays in flight: the next start requeues it
                log.debug("news: could not hand delivery %s back: %s", job.delivery.id, exc)
            returned += 1
        # Sends in flight finish (and outcomes the database refused get written) until the
        # deadline.
        while (self._working or self._unrecorded) and loop.time() < deadline:
            # Workers set the wake-up event as each job ends; the recorder as its writes land.
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(deadline - loop.time(), 0.25)):
                    await self._wakeup.wait()
        interrupted = len(self._held)
        await self.stop()
        handed_back = returned + interrupted
        log.info("news engine stopped: %d deliveries handed back to the outbox (%d not "
                 "started, %d unfinished at the %.0f s deadline); the next start resumes them",
                 handed_back, returned, interrupted, within)
        return handed_back

    async def stop(self) -> None:
        """Stop at once. Whatever is in flight stays marked so in the store and is resumed at
        the next start (with its nonce, or by looking for the post first)."""
        tasks, self._tasks = self._tasks, []
        if self._recorder is not None:
            tasks.append(self._recorder)
            self._recorder = None
        pending = set(tasks)
        for _ in range(5):
            if not pending:  # never started, or already stopped (a drain stops it too)
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        if pending:
            log.error("news engine tasks did not stop: %s", [t.get_name() for t in pending])
        if self._unrecorded:
            log.warning("news engine stopped with %d outcomes not written (the database kept "
                        "refusing); they are checked again at the next start",
                        len(self._unrecorded))
            self._unrecorded.clear()

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

    async def hub_publish_eta(self, wait: HubWait) -> datetime:
        """About when the hub will have published the items `wait` names: its publishes to
        go, one by one, within the publish budget (a failing publish makes it later)."""
        t, now = self.timing, self._clock()
        times = await self.store.news.publish_times(
            wait.hub_id, now - timedelta(seconds=t.publish_window))
        at = max(now, wait.hub_next_at or now)
        for _ in range(max(wait.ahead, 1)):
            at = next_publish_slot(times, at, limit=t.publish_limit,
                                   window=t.publish_window) or at
            times.append(at)
        return at

    # ---- dispatching ----------------------------------------------------------------------

    async def _dispatch(self) -> None:
        if self._ready is not None:
            await self._ready()
        while True:
            try:
                # Before the first claim: whatever an earlier run left in flight.
                resumed = await self.store.news.requeue_in_flight(self._clock())
            except StoreUnavailable as exc:
                self._store_failed("resuming deliveries left in flight", exc)
                await asyncio.sleep(self.timing.store_retry)
                continue
            break
        self._store_ok()
        if resumed:
            log.info("resuming %d news deliveries that were in flight at the last stop", resumed)
        self._next_sweep = asyncio.get_running_loop().time() + self.timing.sweep_every
        while True:
            if self._draining:
                return
            try:
                await self._sweep_if_due()
                timeout = await self._dispatch_once()
                self._store_ok()
            except asyncio.CancelledError:
                raise
            except StoreUnavailable as exc:
                self._store_failed("claiming deliveries", exc)
                timeout = self.timing.store_retry
            except Exception:
                log.exception("news dispatcher failed; trying again shortly")
                timeout = min(self.timing.retry_base, self.timing.idle_poll)
            # Never sleep past the next sweep: a stuck row is found within seconds.
            timeout = min(timeout, max(self._next_sweep - asyncio.get_running_loop().time(),
                                       0.0))
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set (workers set it while being cancelled), which would
            # leave stop() waiting forever for a dispatcher that keeps going.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()

    async def _sweep_if_due(self) -> None:
        """Put back in the queue what is in flight in the store but worked on by nobody."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._next_sweep:
            return
        self._next_sweep = loop.time() + self.timing.sweep_every
        now = self._clock()
        # Another run's rows only once they are older than any request of theirs could be.
        stale = now - timedelta(seconds=self.timing.request_timeout * 2)
        recovered = await self.store.news.recover_abandoned(self.run_id, set(self._held), now,
                                                            stale)
        if recovered:
            log.warning("put %d news deliveries left in flight back in the queue", recovered)

    async def _dispatch_once(self) -> float:
        """Claim what is due into the free slots; return how long to wait before looking
        again (workers and publishers wake the dispatcher sooner)."""
        self._wakeup.clear()
        now = self._clock()
        room = self._queue.maxsize - self._queue.qsize()
        if room <= 0:
            return self.timing.idle_poll  # a worker finishing wakes us
        jobs = await self.store.news.claim_sends(now, room, self.run_id)
        if len(jobs) < room:
            jobs += await self.store.news.claim_publishes(now, room - len(jobs), self.run_id)
        for job in jobs:
            self._held.add(job.delivery.id)
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
            self._working.add(job.delivery.id)
            token = delivery_context.set(job.delivery.id)
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
                delivery_context.reset(token)
                self._working.discard(job.delivery.id)
                if job.delivery.id not in self._unrecorded:
                    self._held.discard(job.delivery.id)
                self._queue.task_done()
                self._wakeup.set()

    async def _requeue_after_bug(self, job: DeliveryJob) -> None:
        # Soon, not after the long cap: if the post did reach Discord (say, the bug came after
        # the send), a re-send within the nonce window returns that message, and a later one
        # looks for it first.
        when = self._clock() + timedelta(seconds=self.timing.retry_base)
        await self._record(job, lambda: self.store.news.retry_later(
            job.delivery.id, when, "internal error",
            publishing=job.delivery.state == "publishing", unsure=True))

    # ---- recording outcomes ---------------------------------------------------------------

    async def _record(self, job: DeliveryJob, write: Write) -> None:
        """Write a delivery's outcome. If the store refuses, the write is kept and retried in
        the background until it lands; the worker moves on, and the row stays claimed by this
        run (so nobody sends it again meanwhile)."""
        try:
            await write()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._store_failed(f"recording news delivery {job.delivery.id}", exc)
            self._unrecorded[job.delivery.id] = (write, asyncio.get_running_loop().time())
            if self._recorder is None or self._recorder.done():
                self._recorder = asyncio.create_task(self._record_later(),
                                                     name="news-recorder")
            return
        self._held.discard(job.delivery.id)

    async def _record_later(self) -> None:
        delay = self.timing.record_retry_base
        late = 0
        while self._unrecorded:
            await asyncio.sleep(delay)
            for delivery_id, (write, _) in list(self._unrecorded.items()):
                try:
                    await write()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._store_failed(f"recording news delivery {delivery_id}", exc)
                    delay = min(delay * 2, self.timing.record_retry_cap)
                    break
                del self._unrecorded[delivery_id]
                self._held.discard(delivery_id)
                late += 1
                delay = self.timing.record_retry_base
        self._store_ok()
        log.info("recorded %d news delivery outcomes the database had refused", late)
        self._wakeup.set()  # the channels they held up can go on

    def _store_failed(self, doing: str, exc: BaseException) -> None:
        if self._store_trouble_since is None:
            self._store_trouble_since = asyncio.get_running_loop().time()
            log.warning("news: the database refused a write while %s (%s); retrying until it "
                        "works", doing, exc)
        else:
            log.debug("news: still cannot write while %s: %s", doing, exc)

    def _store_ok(self) -> None:
        if self._store_trouble_since is not None and not self._unrecorded:
            took = asyncio.get_running_loop().time() - self._store_trouble_since
            self._store_trouble_since = None
            log.info("news: the database takes writes again (after %.1f s)", took)

    def _after(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)

    # ---- sending --------------------------------------------------------------------------

    async def _send(self, job: DeliveryJob) -> None:
        d, sub = job.delivery, job.subscription
        if d.unsure_since is not None and (
                self._clock() - d.unsure_since).total_seconds() >= self.timing.nonce_trust:
            # The nonce may be forgotten: find out whether that earlier try went out.
            try:
                found = await self.transport.find_sent(sub, job.item.id, d.unsure_since)
            except asyncio.CancelledError:
                raise
            except CannotCheck as exc:
                await self._send_failed(job, Failure(Verdict.PAUSE, str(exc)), exc)
                return
            except Exception as exc:
                await self._send_failed(job, classify(exc), exc)
                return
            if found is not None:
                log.info("news delivery %s: its post from an earlier try is in channel %s "
                         "(message %s); not posting again", d.id, sub.channel_id, found)
                await self._record(job, lambda: self.store.news.mark_sent(
                    d.id, found, self._clock(), then_publish=sub.publish))
                return
        watched = await self.store.guilds.watched_season(sub.guild_id)
        message = news_message(job.item, role_id=sub.role_id, watched_season=watched)
        try:
            message_id = await self.transport.send(sub, message, d.nonce)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._send_failed(job, classify(exc), exc)
            return
        await self._record(job, lambda: self.store.news.mark_sent(
            d.id, message_id, self._clock(), then_publish=sub.publish))

    async def _send_failed(self, job: DeliveryJob, failure: Failure, exc: BaseException) -> None:
        d, sub, t = job.delivery, job.subscription, self.timing
        news = self.store.news
        write: Write
        match failure.verdict:
            case Verdict.WAIT:
                when = self._after(failure.retry_after or t.retry_base)
                write = partial(news.retry_later, d.id, when, failure.reason,
                                refund=True)
            # The hub's post is every follower's copy: it is never given up for a failure
            # that may pass, only backed off (up to the cap).
            case Verdict.RETRY if d.attempts < t.max_attempts or sub.is_hub:
                log.warning("news delivery %s to channel %s: %s; retrying", d.id,
                            sub.channel_id, failure.reason)
                when = self._after(backoff(d.attempts, t.retry_base, t.retry_cap))
                # A timeout or a 5xx may have come after Discord made the post.
                write = partial(news.retry_later, d.id, when, failure.reason,
                                unsure=True)
            case Verdict.PAUSE:
                when = self._after(backoff(d.attempts, t.pause_base, t.pause_cap))
                write = partial(self._pause, job, when, failure.reason)
            case Verdict.END:
                # The hub gone, every following channel goes without news: said loudly.
                log.log(logging.ERROR if sub.is_hub else logging.INFO,
                        "news subscription of channel %s ended: %s", sub.channel_id,
                        failure.reason)
                write = partial(news.end_subscription, sub.id, failure.reason,
                                self._clock())
            case _:
                if failure.verdict is Verdict.RETRY:
                    reason = f"gave up after {d.attempts} tries: {failure.reason}"
                    log.error("news delivery %s to channel %s %s", d.id, sub.channel_id, reason)
                else:
                    reason = failure.reason
                    # What we built was rejected: a bug. Retrying the same request cannot work.
                    log.error("news delivery %s (item %s) to channel %s was rejected: %s",
                              d.id, job.item.id, sub.channel_id, reason, exc_info=exc)
                if sub.is_hub:
                    log.error("news item %s will reach no channel following the news hub: its "
                              "hub post was given up (%s)", job.item.id, reason)
                write = partial(news.fail, d.id, reason, self._clock())
        await self._record(job, write)

    async def _pause(self, job: DeliveryJob, when: datetime, reason: str) -> None:
        d, sub = job.delivery, job.subscription
        paused = await self.store.news.pause(d.id, sub.id, when, reason, self._clock())
        if paused:  # told once, not at every retry (nor when this write is retried)
            log.info("news paused in channel %s (guild %s): %s", sub.channel_id, sub.guild_id,
                     reason)
            await self.transport.tell_paused(sub, reason)

    # ---- publishing (crossposting) --------------------------------------------------------

    async def _publish(self, job: DeliveryJob) -> None:
        d, sub, t = job.delivery, job.subscription, self.timing
        news = self.store.news
        now = self._clock()
        recent = await news.publish_times(sub.id, now - timedelta(seconds=t.publish_window))
        slot = next_publish_slot(recent, now, limit=t.publish_limit, window=t.publish_window)
        if slot is not None:
            # Over this channel's budget: wait for the slot without holding a worker.
            await self._record(job, lambda: news.retry_later(d.id, slot, None, publishing=True,
                                                             refund=True))
            return
        assert d.message_id is not None
        try:
            await self.transport.publish(sub, d.message_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._publish_failed(job, classify(exc, publishing=True), exc)
            return
        await self._record(job, lambda: news.mark_published(d.id, self._clock()))

    async def _publish_failed(self, job: DeliveryJob, failure: Failure,
                              exc: BaseException) -> None:
        d, sub, t = job.delivery, job.subscription, self.timing
        news = self.store.news
        write: Write
        match failure.verdict:
            case Verdict.DONE:
                write = partial(news.mark_published, d.id, self._clock(),
                                note=failure.reason)
            case Verdict.WAIT:
                when = self._after(failure.retry_after or t.retry_base)
                write = partial(news.retry_later, d.id, when, failure.reason,
                                publishing=True, refund=True)
            case Verdict.RETRY | Verdict.PAUSE if (d.publish_attempts < t.publish_max_attempts
                                                   or sub.is_hub):
                base, cap = ((t.pause_base, t.pause_cap) if failure.verdict is Verdict.PAUSE
                             else (t.retry_base, t.retry_cap))
                when = self._after(backoff(d.publish_attempts, base, cap))
                write = partial(news.retry_later, d.id, when, failure.reason,
                                publishing=True)
            case Verdict.END:
                log.log(logging.ERROR if sub.is_hub else logging.INFO,
                        "news subscription of channel %s ended: %s", sub.channel_id,
                        failure.reason)
                write = partial(news.end_subscription, sub.id, failure.reason,
                                self._clock())
            case _:
                # The post itself went out; only the crosspost is given up.
                if failure.verdict is Verdict.FAIL:
                    log.error("publishing news delivery %s in channel %s was rejected: %s",
                              d.id, sub.channel_id, failure.reason, exc_info=exc)
                if sub.is_hub:
                    log.error("news item %s will reach no channel following the news hub: "
                              "publishing it in the hub was given up (%s)", job.item.id,
                              failure.reason)
                note = f"not published: {failure.reason}"
                write = partial(news.mark_published, d.id, self._clock(),
                                published=False, note=note)
        await self._record(job, write)
