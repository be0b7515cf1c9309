"""A fetched document to entries, with feedparser: RSS 0.9x/1.0/2.0 and Atom alike.

feedparser is lenient (a stray '&' in a title does not lose the feed), so a document counts as
broken only when nothing usable came out of it. Everything taken from an entry is reduced to
plain text within limits, and only http(s) links are kept.
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.sax
from dataclasses import dataclass
from datetime import date
from typing import Any

import feedparser

from bot.feeds.text import BODY_LIMIT, TITLE_LIMIT, html_to_text, one_line, plain_text
from bot.feeds.urls import public_link

log = logging.getLogger(__name__)

FEED_TITLE_LIMIT = 100
_GUID_LIMIT = 2048
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# feedparser raises these (instead of flagging the document) for a character reference beyond
# Unicode or to a surrogate (`&#99999999;`, `&#xD800;`) and for undecodable bytes where it reads
# the encoding's name; a broken parser of ours must not lose a whole feed either.
_PARSER_CRASHES = (ValueError, UnicodeError, LookupError, TypeError, AttributeError,
                   IndexError, KeyError, OverflowError, RecursionError)
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_ENTRY = re.compile(rb"<(item|entry)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


class FeedParseError(Exception):
    """The document is not a feed we can read; `reason` is short and safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FeedEntry:
    guid: str | None
    link: str | None  # safe to post: http(s) only
    title: str  # plain text, one line
    summary: str  # plain text
    published: date | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    entries: tuple[FeedEntry, ...]  # in document order (usually newest first)
    # Entries that could not be read (bad character references or bytes, nothing to post):
    # left out, counted, and the rest of the feed goes on.
    unreadable: int = 0


def _text(detail: Any, fallback: str | None, limit: int, *, single_line: bool) -> str:
    """feedparser's text constructs carry their type: only HTML gets tag-stripped (a plain
    title like 'Nick < Charlie' must stay as it is)."""
    value = (detail or {}).get("value") if isinstance(detail, dict) else None
    value = value if value is not None else (fallback or "")
    kind = ((detail or {}).get("type") or "") if isinstance(detail, dict) else ""
    text = html_to_text(value, limit * 2) if kind in _HTML_TYPES else plain_text(value, limit * 2)
    return one_line(text, limit) if single_line else plain_text(text, limit)


def _date(entry: Any) -> date | None:
    for field in ("published_parsed", "updated_parsed"):
        parsed = entry.get(field)
        if parsed is not None and 1995 <= parsed.tm_year <= 2100:
            try:
                return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
            except ValueError:
                continue
    return None


def _entry(raw: Any) -> FeedEntry | None:
    guid = raw.get("id")
    guid = guid.strip()[:_GUID_LIMIT] if isinstance(guid, str) and guid.strip() else None
    link = public_link(raw.get("link") if isinstance(raw.get("link"), str) else None)
    title = _text(raw.get("title_detail"), raw.get("title"), TITLE_LIMIT, single_line=True)
    # The summary first (it is short); when it has no text (empty, or only an image) the story
    # is in the content (RSS content:encoded, Atom <content>), as WordPress feeds do it.
    details: list[Any] = []
    if raw.get("summary_detail") or raw.get("summary"):
        # feedparser sometimes fills `summary` without saying its type; it is HTML then.
        details.append(raw.get("summary_detail")
                       or {"type": "text/html", "value": raw.get("summary") or ""})
    details += [c for c in raw.get("content") or [] if isinstance(c, dict)]
    summary = ""
    for detail in details:
        summary = _text(detail, None, BODY_LIMIT, single_line=False)
        if summary:
            break
    if not title:
        title = one_line(summary, 120)
    if not title:
        return None  # nothing to post
    return FeedEntry(guid=guid, link=link, title=title, summary=summary,
                     published=_date(raw))


def _broken_xml(parsed: Any) -> str | None:
    error = parsed.get("bozo_exception")
    if isinstance(error, xml.sax.SAXException) and "undefined entity" in str(error):
        # An HTML entity (&eacute;) in XML: not XML, but the lenient parser read it right.
        return None
    if parsed.get("bozo") and isinstance(error, xml.sax.SAXException):
        return f"malformed XML ({str(error)[:80]})"
    return None


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    return feedparser.parse(bytes(body), response_headers=headers)


def _entries(raw_entries: list[Any]) -> tuple[list[FeedEntry], int]:
    """Readable entries, and how many were not (one odd entry never costs the others)."""
    entries: list[FeedEntry] = []
    unreadable = 0
    for raw in raw_entries:
        try:
            entry = _entry(raw)
        except _PARSER_CRASHES:
            entry = None
        if entry is None:
            unreadable += 1
        else:
            entries.append(entry)
    return entries, unreadable


def _one_by_one(body: bytes, headers: dict[str, str],
                max_entries: int) -> tuple[Any, list[Any], int]:
    """After feedparser crashed on the whole document: parse its frame (everything but the
    entries) alone, then each entry inside that frame, leaving out the ones it crashes on."""
    spans = [m.span() for m in _ENTRY.finditer(body)][:max_entries]
    head = body[:spans[0][0]] if spans else body
    tail = body[spans[-1][1]:] if spans else b""
    frame = None
    for candidate_head in (head, _DECLARATION.sub(b"", head, count=1)):
        try:
            frame = _feedparser(candidate_head + tail, headers)
        except _PARSER_CRASHES:
            continue
        head = candidate_head
        break
    if frame is None:
        raise FeedParseError("the document cannot be read (bad characters or encoding)")
    raw_entries: list[Any] = []
    crashed = 0
    for start, end in spans:
        try:
            one = _feedparser(head + body[start:end] + tail, headers)
        except _PARSER_CRASHES:
            crashed += 1
            continue
        found = list(one.get("entries") or [])
        if found:
            raw_entries.append(found[0])
        else:
            crashed += 1
    return frame, raw_entries, crashed


def parse_feed(body: bytes, *, url: str, content_type: str | None,
               max_entries: int = 200) -> ParsedFeed:
    """The feed in `body` (fetched from `url`), or FeedParseError. Bytes, never a string:
    feedparser would treat a string that looks like an address as something to fetch.

    An entry that cannot be read is left out and counted (`unreadable`); the document fails
    as a whole only when nothing of it can be read as a feed."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    crashed = 0
    try:
        parsed = _feedparser(body, headers)
        raw_entries = list(parsed.get("entries") or [])[:max_entries]
    except _PARSER_CRASHES as exc:
        log.info("feedparser could not read a document whole (%s); reading it entry by entry",
                 type(exc).__name__)
        parsed, raw_entries, crashed = _one_by_one(bytes(body), headers, max_entries)
    entries, unreadable = _entries(raw_entries)
    broken = _broken_xml(parsed)
    if not parsed.get("version"):
        raise FeedParseError(broken or "not an RSS or Atom feed")
    if broken and not entries:
        raise FeedParseError(broken)
    feed = parsed.get("feed") or {}
    try:
        title = _text(feed.get("title_detail"), feed.get("title"), FEED_TITLE_LIMIT,
                      single_line=True) or None
    except _PARSER_CRASHES:
        title = None
    return ParsedFeed(title=title, entries=tuple(entries), unreadable=unreadable + crashed)


async def parse_feed_async(body: bytes, *, url: str, content_type: str | None,
                           max_entries: int = 200) -> ParsedFeed:
    """parse_feed in a worker thread: parsing 2 MB of XML must not stall the bot."""
    return await asyncio.to_thread(parse_feed, body, url=url, content_type=content_type,
                                   max_entries=max_entries)
