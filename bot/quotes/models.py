"""The quotes feature's records: plain dataclasses its store returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.canon.models import Person, Source


@dataclass(frozen=True, slots=True)
class Quote:
    id: int
    key: str | None
    text: str
    speaker_name: str
    speaker: Person | None
    outlet: str | None
    said_on: str | None
    season: int | None
    context: str | None
    status: str
    guild_id: int | None
    submitted_by: int | None
    about: tuple[str, ...] = ()  # character names
    sources: tuple[Source, ...] = ()
    source_text: str | None = None
    speaker_plays: tuple[str, ...] = ()  # the characters the speaker plays, if cast
    episode: int | None = None  # the episode of `season` it is about, if one


@dataclass(frozen=True, slots=True)
class QuoteFilter:
    """What `/quote random` was asked for; each distinct filter has its own rotation."""

    person: str | None = None  # a speaker name, matched case-insensitively
    character_id: int | None = None
    season: int | None = None

    @property
    def key(self) -> str:
        """Stable text naming this filter in the rotation tables ('' = no filter)."""
        parts = []
        if self.person is not None:
            parts.append(f"p={' '.join(self.person.casefold().split())}")
        if self.character_id is not None:
            parts.append(f"c={self.character_id}")
        if self.season is not None:
            parts.append(f"s={self.season}")
        return "|".join(parts)


@dataclass(frozen=True, slots=True)
class QuoteDraw:
    quote: Quote
    cycle: int  # 1 for the first pass through the matching quotes, then 2, ...
    new_cycle: bool  # every matching quote had been shown: this draw started the next pass


@dataclass(frozen=True, slots=True)
class QuoteSearchHit:
    quote: Quote
    snippet: str  # part of the quote text, matches between \x01 and \x02


@dataclass(frozen=True, slots=True)
class QuoteSearchPage:
    hits: tuple[QuoteSearchHit, ...]
    total: int  # all matches, or (when capped) as many as were counted
    page: int  # 0-based
    per_page: int
    capped: bool = False  # more match than `total`: counting stopped there
    ranked: bool = True  # best first; False: newest first (too many matches to rank)

    @property
    def page_count(self) -> int:
        """Pages of the counted matches (at least that many when capped)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class QuoteSubmission:
    quote: Quote  # status: pending, approved or rejected
    submitted_at: str
    near_duplicate_of: int | None = None
    reviewer_id: int | None = None
    reason: str | None = None
    decided_at: str | None = None
    dm_status: str = "none"  # none, sent, closed (the member's DMs are off), failed
    removed: bool = False  # approved, then taken out of the server's quotes by a reviewer
    removed_reason: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteAuditEntry:
    """One decision about a quote in a server: approved, rejected, removed, restored, hidden or
    unhidden, by whom and when."""

    quote_id: int
    action: str
    actor_id: int | None
    reason: str | None
    at: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class QuoteSettings:
    """A server's quote settings; the defaults are a server that never set any."""

    guild_id: int
    reviewer_role_id: int | None = None
    notify_channel_id: int | None = None  # where a waiting submission is announced
    notify_error: str | None = None  # why the last announcement could not be posted


@dataclass(frozen=True, slots=True)
class DailyQuoteSchedule:
    guild_id: int
    channel_id: int
    local_time: str  # 'HH:MM'
    timezone: str  # IANA name
    next_due: datetime  # aware, UTC
    last_posted_on: date | None  # the server-local date of the last post
    last_error: str | None = None
    last_posted_at: datetime | None = None  # aware, UTC: the last post, scheduled or not
