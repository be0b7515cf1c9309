"""The quote-of-the-day poster: a background task that checks every `poll_seconds` which servers
are due (by the bot's injectable clock) and posts their next quote from the server's rotation.

A post is claimed in the database before it is sent (compare-and-set on the schedule), so two
passes, or two processes, never post the same day twice. A send that fails for a passing reason
(Discord 5xx, a long rate limit, the network) gives the claim back so the next pass retries, with
the same nonce: if the first attempt did reach Discord, Discord returns that message instead of
posting a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiohttp
import discord

from bot.core.errors import UserFacingError
from bot.quotes.models import DailyQuoteSchedule
from bot.quotes.render import daily_embed
from bot.quotes.rotation import QuoteRotation
from bot.quotes.schedule import plan_due

if TYPE_CHECKING:  # bot.store imports every feature's repository
    from bot.store import Store

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0
CANNOT_POST = ("I can't post in <#{channel}>: I need View Channel, Send Messages and Embed Links "
               "there.")
CHANNEL_GONE = "The channel <#{channel}> no longer exists; choose another with /quote daily set."
NO_QUOTES = "There were no quotes to post."
NOT_SET_UP = ("No quote of the day is set up here. Choose its channel and time with "
              "`/quote daily set` first.")


def daily_nonce(guild_id: int, day: date) -> str:
    """The same for every attempt at one server's post of one day (at most 25 characters)."""
    digest = hashlib.blake2b(f"quote-daily:{guild_id}:{day.isoformat()}".encode(),
                             digest_size=10).hexdigest()
    return f"qd{digest}"


class DailyQuotePoster:
    def __init__(self, client: discord.Client, store: Store, rotation: QuoteRotation,
                 clock: Callable[[], datetime], *, poll_seconds: float = POLL_SECONDS) -> None:
        self._client = client
        self._store = store
        self._rotation = rotation
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._lock = asyncio.Lock()  # one scheduled pass at a time
        self._guild_locks: dict[int, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        # Set after the first pass following start-up (the one that makes a missed post).
        self.first_pass_done = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="quote-of-the-day")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _guild_lock(self, guild_id: int) -> asyncio.Lock:
        return self._guild_locks.setdefault(guild_id, asyncio.Lock())

    async def _run(self) -> None:
        await self._client.wait_until_ready()
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("quote of the day: a pass failed")
            self.first_pass_done.set()
            await asyncio.sleep(self._poll_seconds)

    async def run_once(self) -> int:
        """Post every quote of the day that is due now; returns how many were posted."""
        async with self._lock:
            now = self._clock()
            posted = 0
            for schedule in await self._store.quotes.due_daily(now):
                try:
                    async with self._guild_lock(schedule.guild_id):
                        posted += await self._handle(schedule, now)
                except Exception:
                    log.exception("quote of the day failed for guild %s", schedule.guild_id)
            return posted

    async def _handle(self, schedule: DailyQuoteSchedule, now: datetime) -> bool:
        quotes = self._store.quotes
        plan = plan_due(schedule, now)
        if not plan.post:
            await quotes.advance_daily(schedule, next_due=plan.next_due, posted_on=None)
            return False
        if not await quotes.advance_daily(schedule, next_due=plan.next_due, posted_on=plan.day):
            return False  # changed or claimed meanwhile
        draw = await self._rotation.next(schedule.guild_id)
        if draw is None:
            await quotes.record_daily_error(schedule.guild_id, NO_QUOTES)
            return False
        watched = await self._store.guilds.watched_season(schedule.guild_id)
        channel = self._client.get_partial_messageable(schedule.channel_id,
                                                       guild_id=schedule.guild_id)
        try:
            await channel.send(embed=daily_embed(draw.quote, day=plan.day, watched_season=watched),
                               allowed_mentions=discord.AllowedMentions.none(),
                               nonce=daily_nonce(schedule.guild_id, plan.day))
        except discord.NotFound:
            await quotes.record_daily_error(schedule.guild_id,
                                            CHANNEL_GONE.format(channel=schedule.channel_id))
            return False
        except discord.Forbidden:
            await quotes.record_daily_error(schedule.guild_id,
                                            CANNOT_POST.format(channel=schedule.channel_id))
            return False
        except (discord.RateLimited, discord.DiscordServerError, aiohttp.ClientError,
                TimeoutError, OSError) as exc:
            log.warning("quote of the day for guild %s will be retried: %s",
                        schedule.guild_id, exc)
            await quotes.release_daily(schedule, claimed_next_due=plan.next_due,
                                       posted_on=plan.day)
            return False
        except discord.HTTPException as exc:
            log.error("quote of the day for guild %s was refused: %s", schedule.guild_id, exc)
            await quotes.record_daily_error(schedule.guild_id, f"Discord refused the post: {exc}")
            return False
        await quotes.record_daily_post(schedule.guild_id, now)
        if schedule.last_error:
            await quotes.record_daily_error(schedule.guild_id, None)
        return True

    async def post_now(self, guild_id: int) -> DailyQuoteSchedule:
        """Post the next quote of the server's rotation in its quote-of-the-day channel now,
        besides the scheduled one (which still comes); returns the schedule. Refusals are
        UserFacingErrors that say what to do."""
        quotes = self._store.quotes
        # Never at the same time as this server's scheduled post, but without waiting for a
        # whole pass over every server due at that minute.
        async with self._guild_lock(guild_id):
            schedule = await quotes.daily(guild_id)
            if schedule is None:
                raise UserFacingError(NOT_SET_UP)
            now = self._clock()
            day = now.astimezone(ZoneInfo(schedule.timezone)).date()
            channel = self._client.get_partial_messageable(schedule.channel_id,
                                                           guild_id=guild_id)
            async with self._rotation.draw(guild_id) as draw:
                if draw is None:
                    raise UserFacingError(NO_QUOTES)
                watched = await self._store.guilds.watched_season(guild_id)
                try:
                    await channel.send(embed=daily_embed(draw.quote, day=day,
                                                         watched_season=watched),
                                       allowed_mentions=discord.AllowedMentions.none())
                except discord.NotFound:
                    raise UserFacingError(CHANNEL_GONE.format(channel=schedule.channel_id)
                                          ) from None
                except discord.Forbidden:
                    raise UserFacingError(CANNOT_POST.format(channel=schedule.channel_id)
                                          + " Grant them, or choose another channel with "
                                          "`/quote daily set`.") from None
            await quotes.record_daily_post(guild_id, now)
            if schedule.last_error:  # it could post: the old problem is over
                await quotes.record_daily_error(guild_id, None)
        updated = await quotes.daily(guild_id)
        return updated or schedule
