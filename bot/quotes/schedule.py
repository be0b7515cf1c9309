"""Quote-of-the-day time rules, pure: parsing a local time and zone, the next due instant in UTC
(daylight-saving changes included), and whether a due schedule posts now.

A day's post is tied to the server's local date: it is made once, at the first check at or after
its time, and only while that local date lasts; a day the bot slept through entirely is skipped
rather than posted late.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rapidfuzz import fuzz, process

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


# Abbreviations people type for their time: each is a fixed offset or a legacy rule, not a
# place, and the promise is a post at the same local time all year (daylight saving included),
# which only a place's zone keeps. Each is refused with the zones of the places it is used in.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("est", "edt", "et", "est5edt"), ("America/New_York", "America/Toronto")),
    **dict.fromkeys(("cst", "cdt", "ct", "cst6cdt"), ("America/Chicago", "America/Mexico_City")),
    **dict.fromkeys(("mst", "mdt", "mt", "mst7mdt"), ("America/Denver", "America/Phoenix")),
    **dict.fromkeys(("pst", "pdt", "pt", "pst8pdt"), ("America/Los_Angeles",
                                                      "America/Vancouver")),
    **dict.fromkeys(("akst", "akdt"), ("America/Anchorage",)),
    "hst": ("Pacific/Honolulu",),
    **dict.fromkeys(("ast", "adt"), ("America/Halifax",)),
    **dict.fromkeys(("nst", "ndt"), ("America/St_Johns",)),
    **dict.fromkeys(("gmt", "gmt0", "gmt+0", "gmt-0", "greenwich", "etc/gmt", "etc/gmt0",
                     "etc/gmt+0", "etc/gmt-0", "etc/greenwich", "bst"),
                    ("Europe/London", "UTC")),
    "ist": ("Europe/Dublin", "Asia/Kolkata"),
    **dict.fromkeys(("wet", "west"), ("Europe/Lisbon",)),
    **dict.fromkeys(("cet", "cest", "met", "mest"), ("Europe/Paris", "Europe/Berlin",
                                                     "Europe/Madrid")),
    **dict.fromkeys(("eet", "eest"), ("Europe/Athens", "Europe/Helsinki")),
    "msk": ("Europe/Moscow",),
    "sast": ("Africa/Johannesburg",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    "hkt": ("Asia/Hong_Kong",),
    "sgt": ("Asia/Singapore",),
    "pht": ("Asia/Manila",),
    "wib": ("Asia/Jakarta",),
    **dict.fromkeys(("aest", "aedt"), ("Australia/Sydney", "Australia/Melbourne",
                                       "Australia/Brisbane")),
    **dict.fromkeys(("acst", "acdt"), ("Australia/Adelaide", "Australia/Darwin")),
    "awst": ("Australia/Perth",),
    **dict.fromkeys(("nzst", "nzdt"), ("Pacific/Auckland",)),
    "brt": ("America/Sao_Paulo",),
    "art": ("America/Argentina/Buenos_Aires",),
}
# Places people type that are no zone's name: countries and big cities without a zone of their
# own. (Any city that has one, `london`, `new york`, `são paulo`, is found by its zone.)
PLACES: dict[str, str] = {
    **dict.fromkeys(("uk", "united kingdom", "england", "britain", "great britain", "scotland",
                     "wales", "northern ireland", "manchester", "edinburgh", "glasgow",
                     "cardiff", "birmingham", "kent"), "Europe/London"),
    "ireland": "Europe/Dublin",
    **dict.fromkeys(("nyc", "new york city", "boston", "washington", "washington dc",
                     "miami", "atlanta", "philadelphia", "east coast"), "America/New_York"),
    **dict.fromkeys(("san francisco", "seattle", "california", "west coast", "portland",
                     "san diego"), "America/Los_Angeles"),
    **dict.fromkeys(("dallas", "houston", "austin", "texas"), "America/Chicago"),
    "montreal": "America/Toronto",
    **dict.fromkeys(("india", "delhi", "new delhi", "mumbai", "bangalore"), "Asia/Kolkata"),
    "beijing": "Asia/Shanghai",
    "france": "Europe/Paris",
    "germany": "Europe/Berlin",
    "spain": "Europe/Madrid",
    "japan": "Asia/Tokyo",
}
# What an offset like `UTC+1` is checked against: the zones of big cities, by the offsets they
# have in winter and in summer.
_OFFSET_CITIES = (
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver",
    "America/Phoenix", "America/Chicago", "America/New_York", "America/Halifax",
    "America/Sao_Paulo", "America/Argentina/Buenos_Aires", "Atlantic/Azores", "Europe/London",
    "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Africa/Lagos",
    "Europe/Athens", "Africa/Johannesburg", "Europe/Istanbul", "Europe/Moscow", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta",
    "Asia/Shanghai", "Asia/Singapore", "Australia/Perth", "Asia/Tokyo", "Asia/Seoul",
    "Australia/Adelaide", "Australia/Brisbane", "Australia/Sydney", "Pacific/Auckland",
)
_OFFSET = re.compile(r"^(?:utc|gmt|etc/gmt)?\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?$")
# Zone names that are no place: legacy aliases and the like, never offered.
_NOT_PLACES = frozenset({"factory", "localtime"})
TYPO_SCORE = 75.0  # how alike a city's name and what was typed must be to be suggested
_LEGACY_PREFIXES = ("US/", "Canada/", "Brazil/", "Chile/", "Mexico/", "Etc/", "SystemV/")
ZONE_HELP = ("Pick one of the suggestions: the zone of a city, such as `Europe/London` or "
             "`America/New_York` (a city's name like `london` works too), which follows "
             "daylight saving there.")


def _fold(text: str) -> str:
    """'  São  Paulo ' -> 'sao paulo'; underscores read as spaces."""
    decomposed = unicodedata.normalize("NFKD", text.replace("_", " "))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def _code_list(zones: tuple[str, ...] | list[str]) -> str:
    shown = [f"`{z}`" for z in zones]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _offset_minutes(text: str) -> int | None:
    """Minutes east of UTC for `UTC+1`, `GMT-5`, `+05:30`, `Etc/GMT+5` (which is UTC-5)."""
    match = _OFFSET.match(text)
    if not match:
        return None
    sign = -1 if match.group(1) in "-−" else 1
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    if text.startswith("etc/"):
        sign = -sign  # POSIX-style: Etc/GMT+5 is five hours behind
    return sign * minutes


def zones_at_offset(minutes: int) -> list[str]:
    """Big cities' zones that are `minutes` east of UTC: those where it is standard time first,
    then those where it is summer time."""
    wanted = timedelta(minutes=minutes)
    standard, summer = [], []
    for name in _OFFSET_CITIES:
        zone = zoneinfo.ZoneInfo(name)
        offsets = [datetime(2026, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7)]
        if wanted == min(o for o in offsets if o is not None):
            standard.append(name)
        elif wanted in offsets:
            summer.append(name)
    return standard + summer


def _refusal(typed: str, shown: str) -> str | None:
    """Why `typed` (lower case, no spaces) is no place's zone, with the zones to pick
    instead, or None."""
    cities = ABBREVIATIONS.get(typed)
    if cities is not None:
        return (f"`{shown}` is an abbreviation, not a place, so it would not follow daylight "
                f"saving: the quote of the day would move by an hour when the clocks change. "
                f"Pick a city's zone instead: {_code_list(cities)}.")
    minutes = _offset_minutes(typed)
    if minutes is not None:
        near = zones_at_offset(minutes)[:4]
        pick = (f"Pick a city's zone instead, such as {_code_list(near)}." if near
                else ZONE_HELP)
        return (f"`{shown}` is a fixed offset, not a place, so it would not follow daylight "
                f"saving: the quote of the day would move by an hour when the clocks change. "
                f"{pick}")
    if typed in _NOT_PLACES:
        return f"`{shown}` is not a place's time zone. {ZONE_HELP}"
    return None


def find_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name` means: a zone's name (any case, spaces for underscores) or a city's
    or country's (`london`, `new york`); an abbreviation or a fixed offset (`EST`, `UTC+1`) is
    refused with the zones to pick instead, as is anything unknown (UserFacingError)."""
    refusal = _refusal("".join(name.casefold().split()), name.strip()[:40])
    if refusal is not None:
        raise UserFacingError(refusal)
    found = _zone_named(name)
    if found is not None:
        return zoneinfo.ZoneInfo(found)
    suggestions = zone_choices(name, 3)
    more = f" Did you mean {_code_list(suggestions)}?" if suggestions else ""
    raise UserFacingError(f"I don't know the time zone {name.strip()[:60]!r}.{more} "
                          f"{ZONE_HELP}")


def _zone_named(name: str) -> str | None:
    """The zone's name for a zone name, city or country as typed, or None."""
    wanted = name.strip().replace(" ", "_").casefold()
    for zone_name in zone_names():
        if zone_name.casefold() == wanted:
            return zone_name
    folded = _fold(name)
    return PLACES.get(folded) or _cities().get(folded)


@functools.cache
def _cities() -> dict[str, str]:
    """Each zone's city, folded (`new york`, `sao paulo`) -> the zone; where two zones share a
    city, the canonical one (deeper: America/Argentina/Buenos_Aires, not its old alias)."""
    found: dict[str, str] = {}
    for zone_name in sorted(zone_places(), key=lambda z: (-z.count("/"), z)):
        found.setdefault(_fold(zone_name.rsplit("/", 1)[-1]), zone_name)
    return found


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (read from disk once)."""
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def zone_places() -> tuple[str, ...]:
    """The zones named for a place (`Region/City`), and UTC: what is offered and accepted."""
    return tuple(n for n in zone_names()
                 if ("/" in n and not n.startswith(_LEGACY_PREFIXES)) or n == "UTC")


def zone_choices(typed: str, limit: int = 25) -> list[str]:
    """Zone names matching what was typed: for an abbreviation or offset, the places it is used
    in; for a country or city without a zone, its zone; then zones starting with it (or whose
    city does), then those containing it."""
    folded = _fold(typed)
    names = zone_places()
    if not folded:
        return list(names[:limit])
    first: list[str] = list(ABBREVIATIONS.get(folded.replace(" ", ""), ()))
    minutes = _offset_minutes(folded.replace(" ", ""))
    if minutes is not None:
        first += zones_at_offset(minutes)
    if folded in PLACES:
        first.append(PLACES[folded])
    wanted = folded.replace(" ", "_")
    starts = [n for n in names if n.casefold().startswith(wanted)
              or _fold(n.rsplit("/", 1)[-1]).startswith(folded)]
    # For an abbreviation, its places (and zones starting with it) say enough.
    contains = [] if first else [n for n in names if wanted in n.casefold()
                                 or folded in _fold(n.rsplit("/", 1)[-1])]
    found = list(dict.fromkeys(first + starts + contains))
    if not found and len(folded) >= 4:  # a typo: the cities spelt most like it
        cities = _cities()
        found = [cities[city] for city, _, _ in process.extract(
            folded, list(cities), scorer=fuzz.ratio, score_cutoff=TYPO_SCORE, limit=limit)]
    return found[:limit]


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
