"""The poller: fetches due feeds, ingests what they hold, keeps each feed's schedule.

`poll_due(now)` is one round (tests call it with the bot's clock); the background loop only
calls it again and again. A feed that fails waits longer each time (the interval, doubled per
failure in a row, capped) and is disabled after too many failures in a row, which the owners
are told about. Whatever one feed does (bad XML, a huge body, a redirect loop, a crash in the
parser) is recorded against that feed alone: the others are polled as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.database import StoreUnavailable
from bot.feeds.fetcher import FeedFetcher, FetchError
from bot.feeds.ingest import IngestReport, Publish, ingest, refresh_fingerprints
from bot.feeds.models import Feed
from bot.feeds.parser import FeedParseError, ParsedFeed, parse_feed_async
from bot.feeds.timing import FeedTiming, feed_backoff
from bot.feeds.urls import check_feed_url, feed_host

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store

log = logging.getLogger(__name__)

Notify = Callable[[Feed], Awaitable[object]]


class FeedAddError(Exception):
    """A feed could not be added; `reason` says why (the URL, or what its first fetch gave)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PollResult:
    feed: Feed  # as it was before this fetch
    outcome: str  # 'ingested', 'not_modified', 'failed' or 'disabled'
    report: IngestReport | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AddResult:
    feed: Feed  # as stored after the first fetch
    report: IngestReport
    reenabled: bool
    existed: bool


class FeedPoller:
    def __init__(self, store: Store, fetcher: FeedFetcher, *, publish: Publish,
                 clock: Callable[[], datetime], timing: FeedTiming | None = None,
                 notify_disabled: Notify | None = None,
                 ready: Callable[[], Awaitable[object]] | None = None) -> None:
        self.store = store
        self.fetcher = fetcher
        self.timing = timing or fetcher.timing
        self._publish = publish
        self._clock = clock
        self._notify_disabled = notify_disabled
        self._ready = ready
        self._busy: set[int] = set()  # feeds being fetched right now
        # Entries are ingested one feed at a time: two feeds carrying the same story must not
        # both find it new.
        self._ingest_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        # Told each fetch's outcome ('ingested', 'not_modified', 'failed', 'disabled').
        self.on_result: Callable[[str], None] | None = None

    # ---- one round ------------------------------------------------------------------------

    async def poll_once(self) -> list[PollResult]:
        return await self.poll_due(self._clock())

    async def poll_due(self, now: datetime) -> list[PollResult]:
        """Fetch every active feed that is due at `now`, a few at a time. A feed already being
        fetched (by an overlapping round, or by /news feed add) is left to that fetch."""
        due = [f for f in await self.store.feeds.due(now) if f.id not in self._busy]
        if not due:
            return []
        claimed = {f.id for f in due}
        self._busy |= claimed
        try:
            await refresh_fingerprints(self.store, now)
            gate = asyncio.Semaphore(self.timing.concurrency)

            async def one(feed: Feed) -> PollResult:
                async with gate:
                    try:
                        return await self._poll(feed, now)
                    except asyncio.CancelledError:
                        raise
                    except StoreUnavailable as exc:
                        # Not the feed's fault: it stays due and is fetched again next round.
                        log.warning("feed %s waits: the database refused a write (%s)",
                                    feed.id, exc)
                        return PollResult(feed, "failed", error="the database was busy")
                    except Exception:  # the store failed: this feed waits, the others go on
                        log.exception("polling feed %s failed", feed.id)
                        return PollResult(feed, "failed", error="internal error")

            results = list(await asyncio.gather(*(one(f) for f in due)))
        finally:
            self._busy -= claimed
        if self.on_result is not None:  # /metrics: fetches by result
            for result in results:
                self.on_result(result.outcome)
        return results

    async def _poll(self, feed: Feed, now: datetime) -> PollResult:
        """Fetch and ingest one feed and record how it went. Never raises for what the feed
        did; a bug on our side is logged and counted as a failure of this feed."""
        try:
            fetched = await self.fetcher.fetch(feed.url, etag=feed.etag,
                                               last_modified=feed.last_modified)
            if fetched is None:
                await self._record_ok(feed, now, etag=None, last_modified=None, title=None,
                                      new_entries=False)
                return PollResult(feed, "not_modified")
            parsed = await self._parse(fetched.body, fetched.url, fetched.content_type)
        except (FetchError, FeedParseError) as exc:
            return await self._failed(feed, now, exc.reason,
                                      getattr(exc, "retry_after", None))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The host only: a feed's path or query may hold a token, and so may the text of
            # an exception about it, so no traceback either.
            log.error("fetching feed %s (%s) failed unexpectedly: %s", feed.id,
                      feed_host(feed.url), type(exc).__name__)
            return await self._failed(feed, now, "internal error while reading the feed", None)
        try:
            async with self._ingest_lock:
                report = await ingest(self.store, feed, parsed, publish=self._publish, now=now,
                                      timing=self.timing)
        except (asyncio.CancelledError, StoreUnavailable):
            raise  # a refused write is not the feed's failure (see poll_due)
        except Exception:
            # Validators are not saved: the next fetch reads the whole document again, and
            # whatever was stored before this error is recognised as seen.
            log.exception("ingesting feed %s (%s) failed", feed.id, feed_host(feed.url))
            return await self._failed(feed, now, "internal error while storing entries", None)
        await self._record_ok(feed, now, etag=fetched.etag, last_modified=fetched.last_modified,
                              title=parsed.title, new_entries=report.new_entries,
                              unreadable=parsed.unreadable)
        if parsed.unreadable:
            log.info("feed %s (%s): %d unreadable entries left out", feed.id,
                     feed_host(feed.url), parsed.unreadable)
        if report.posted or report.held:
            log.info("feed %s: %d posted, %d held for review", feed.id, len(report.posted),
                     report.held)
        return PollResult(feed, "ingested", report=report)

    async def _parse(self, body: bytes, url: str, content_type: str | None) -> ParsedFeed:
        return await parse_feed_async(body, url=url, content_type=content_type,
                                      max_entries=self.timing.max_entries)

    async def _record_ok(self, feed: Feed, now: datetime, *, etag: str | None,
                         last_modified: str | None, title: str | None,
                         new_entries: bool, unreadable: int | None = None) -> None:
        await self.store.feeds.record_fetched(
            feed.id, now, next_fetch_at=now + timedelta(seconds=self.timing.interval),
            etag=etag, last_modified=last_modified, title=title, new_entries=new_entries,
            unreadable=unreadable)

    async def _failed(self, feed: Feed, now: datetime, reason: str,
                      retry_after: float | None) -> PollResult:
        failures = feed.failures + 1
        wait = feed_backoff(failures, self.timing)
        if retry_after is not None:  # the server asked for a pause: honour it, within reason
            wait = max(wait, min(retry_after, self.timing.backoff_cap))
        max_failures = self.timing.max_failures
        recorded = await self.store.feeds.record_failure(
            feed.id, now, reason, next_fetch_at=now + timedelta(seconds=wait),
            disable_after=max_failures,
            disabled_reason=f"{max_failures} failed fetches in a row; the last: {reason}")
        if recorded is None:
            return PollResult(feed, "failed", error=reason)  # removed meanwhile
        log.info("feed %s (%s) failed (%d in a row): %s", feed.id, feed_host(feed.url),
                 recorded.feed.failures, reason)
        if not recorded.disabled_now:
            return PollResult(feed, "failed", error=reason)
        log.warning("feed %s (%s) disabled: %s", feed.id, feed_host(feed.url),
                    recorded.feed.disabled_reason)
        if self._notify_disabled is not None:
            try:
                await self._notify_disabled(recorded.feed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not tell the owners that feed %s was disabled", feed.id)
        return PollResult(feed, "disabled", error=reason)

    # ---- adding a feed --------------------------------------------------------------------

    async def add(self, raw_url: str, *, keywords: Sequence[str], review: bool,
                  added_by: int) -> AddResult:
        """Validate the address, fetch it once, and only if that gives a readable feed, follow
        it: that first document is recorded, nothing in it is posted."""
        try:
            url = check_feed_url(raw_url)
        except ValueError as exc:
            raise FeedAddError(str(exc)) from None
        try:
            fetched = await self.fetcher.fetch(url)
            if fetched is None:  # nothing was asked conditionally: this 304 is nonsense
                raise FeedAddError("the server answered 304 Not Modified to a plain request")
            parsed = await self._parse(fetched.body, fetched.url, fetched.content_type)
        except (FetchError, FeedParseError) as exc:
            raise FeedAddError(exc.reason) from None
        now = self._clock()
        before = await self.store.feeds.feed_by_url(url)
        feed = await self.store.feeds.add(url, keywords=keywords, review=review,
                                          added_by=added_by, now=now)
        await refresh_fingerprints(self.store, now)
        mine = feed.id not in self._busy  # a round may be fetching it right now
        self._busy.add(feed.id)
        try:
            async with self._ingest_lock:
                report = await ingest(self.store, feed, parsed, publish=self._publish, now=now,
                                      timing=self.timing)
            await self._record_ok(feed, now, etag=fetched.etag,
                                  last_modified=fetched.last_modified, title=parsed.title,
                                  new_entries=report.new_entries,
                                  unreadable=parsed.unreadable)
        finally:
            if mine:
                self._busy.discard(feed.id)
        stored = await self.store.feeds.feed(feed.id)
        assert stored is not None
        return AddResult(stored, report, existed=before is not None,
                         reenabled=before is not None and before.state == "disabled")

    # ---- the background loop --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="feed-poller")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.fetcher.close()

    async def _run(self) -> None:
        if self._ready is not None:
            await self._ready()
        await asyncio.sleep(self.timing.first_look)
        while True:
            try:
                await self.poll_once()
                wait = await self._seconds_to_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("a feed polling round failed; trying again later")
                wait = self.timing.tick
            await asyncio.sleep(wait)

    async def _seconds_to_next(self) -> float:
        due = await self.store.feeds.next_due()
        if due is None:
            return self.timing.tick
        return min(max((due - self._clock()).total_seconds(), 1.0), self.timing.tick)
