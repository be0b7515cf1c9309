"""Quote-of-the-day time rules, pure: parsing a local time and zone, the next due instant in UTC
(daylight-saving changes included), and whether a due schedule posts now.

A day's post is tied to the server's local date: it is made once, at the first check at or after
its time, and only while that local date lasts; a day the bot slept through entirely is skipped
rather than posted late.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.core.errors import UserFacingError
from bot.quotes.models import DailyQuoteSchedule

_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$", re.IGNORECASE)
TIME_HELP = "Give the time as `HH:MM` on a 24-hour clock, for example `09:00` or `18:30`."


def parse_local_time(text: str) -> time:
    """'9:30', '09:30', '21.05', '9pm', '9:30 am' -> a time; anything else: UserFacingError."""
    match = _TIME.match(text.strip())
    if not match:
        raise UserFacingError(f"I couldn't read {text.strip()[:40]!r} as a time. {TIME_HELP}")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower().replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            raise UserFacingError(f"{hour} isn't an hour on a 12-hour clock. {TIME_HELP}")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise UserFacingError(f"{text.strip()[:40]!r} isn't a time of day. {TIME_HELP}")
    return time(hour, minute)


def format_local_time(value: time) -> str:
    return value.strftime("%H:%M")


def find_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone called `name` (any case, spaces for underscores), or UserFacingError."""
    wanted = name.strip().replace(" ", "_").casefold()
    for zone_name in zone_names():
        if zone_name.casefold() == wanted:
            return zoneinfo.ZoneInfo(zone_name)
    raise UserFacingError(f"I don't know the time zone {name.strip()[:60]!r}. Pick one of the "
                          "suggestions, such as `Europe/London` or `America/New_York`.")


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (read from disk once)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_choices(typed: str, limit: int = 25) -> list[str]:
    """Zone names matching what was typed: those starting with it (or whose city does) first,
    then those containing it."""
    wanted = typed.strip().replace(" ", "_").casefold()
    names = [n for n in zone_names() if "/" in n or n == "UTC"]  # skip legacy names like EST
    if not wanted:
        return names[:limit]
    starts = [n for n in names if n.casefold().startswith(wanted)
              or n.casefold().rsplit("/", 1)[-1].startswith(wanted)]
    chosen = set(starts)
    contains = [n for n in names if wanted in n.casefold() and n not in chosen]
    return (starts + contains)[:limit]


def occurrence(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant the clock in `zone` shows `at` on `day`.

    A time skipped by a spring-forward change is read with the offset before the change (so
    02:30 on that day posts at 03:30 summer time); a time that happens twice on a fall-back day
    means its first occurrence.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_occurrence(after: datetime, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The first UTC instant strictly after `after` when the clock in `zone` shows `at`."""
    local_day = after.astimezone(zone).date()
    candidates = (occurrence(local_day + timedelta(days=d), at, zone) for d in range(-1, 3))
    return min(c for c in candidates if c > after)


def latest_occurrence(now: datetime, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The last UTC instant at or before `now` when the clock in `zone` showed `at`."""
    local_day = now.astimezone(zone).date()
    candidates = (occurrence(local_day + timedelta(days=d), at, zone) for d in range(-2, 2))
    return max(c for c in candidates if c <= now)


@dataclass(frozen=True, slots=True)
class DailyPlan:
    post: bool
    day: date  # the server-local date this check belongs to
    next_due: datetime


def plan_due(schedule: DailyQuoteSchedule, now: datetime) -> DailyPlan:
    """What to do with a schedule whose next_due has come: post (once per local day, and only
    while that day lasts) and when to look again."""
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    at = time.fromisoformat(schedule.local_time)
    latest = latest_occurrence(now, at, zone)
    day = latest.astimezone(zone).date()
    today = now.astimezone(zone).date()
    post = day == today and schedule.last_posted_on != day
    return DailyPlan(post, day, next_occurrence(now, at, zone))
