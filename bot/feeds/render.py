"""Feed ingestion as owners see it: replies of /news feed and /news review, and the DM sent when
a feed is disabled. Pure functions; feed-supplied text is hostile, so every piece of it is
escaped (or put in a code span) and capped, and every limit holds by construction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

import discord

from bot.core.formatting import (
    BRAND_COLOUR,
    CHOICE_NAME_LIMIT,
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_TITLE_LIMIT,
    fit_blocks,
    month_label,
    neutralise_mentions,
    plural,
    safe,
    truncate,
)
from bot.feeds.ingest import IngestReport
from bot.feeds.models import Feed, HeldEntry
from bot.feeds.poller import AddResult
from bot.feeds.review import ReviewOutcome
from bot.news.render import BODY_LIMIT

_URL_SHOWN = 120
_LABEL_LIMIT = 80
_ERROR_LIMIT = 150
_LIST_BUDGET = EMBED_DESCRIPTION_LIMIT - 200


def code(text: str, limit: int = _URL_SHOWN) -> str:
    """Inline code: nothing inside is markdown. A backtick would end it early, a cut address
    gets an ellipsis, and mention-like text is neutralised even here."""
    shown = truncate(neutralise_mentions(text.replace("`", "ˋ").replace("\n", " ")), limit)
    return f"`{shown}`"


def feed_name(feed: Feed) -> str:
    """The feed's own title, or where it lives; raw text (escape before showing)."""
    if feed.title:
        return feed.title
    parts = urlsplit(feed.url)
    return (parts.hostname or feed.url) + (parts.path if parts.path != "/" else "")


def _keywords(keywords: Sequence[str]) -> str:
    names = [f"**{safe(k, 60)}**" for k in keywords]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _found(report: IngestReport, feed: Feed) -> str:
    if report.baseline:
        where = "wait for review (`/news review`)" if feed.review else "be posted"
        return (f"recorded {plural(report.baseline, 'existing entry', 'existing entries')}; "
                f"new ones will {where}")
    if not (report.posted or report.held or report.known or report.duplicates
            or report.filtered or report.skipped):
        where = "wait for review (`/news review`)" if feed.review else "be posted"
        return f"it has no entries yet; new ones will {where}"
    parts = []
    if report.posted:
        parts.append(f"posted {plural(len(report.posted), 'new entry', 'new entries')}")
    if report.held:
        parts.append(f"held {plural(report.held, 'new entry', 'new entries')} for review")
    if report.duplicates:
        parts.append(f"{plural(report.duplicates, 'entry', 'entries')} already news")
    if report.filtered:
        parts.append(f"{plural(report.filtered, 'entry', 'entries')} without the keywords")
    if report.skipped:
        parts.append(f"{plural(report.skipped, 'older unseen entry', 'older unseen entries')} "
                     "recorded without posting")
    return ", ".join(parts) if parts else "nothing new since the last fetch"


def feed_added_text(result: AddResult) -> str:
    feed = result.feed
    name = safe(feed_name(feed), _LABEL_LIMIT)
    if result.reenabled:
        verb = "Following again"
    elif result.existed:
        verb = "Updated"
    else:
        verb = "Now following"
    text = f"{verb} **{name}** ({code(feed.url)}): {_found(result.report, feed)}."
    if feed.keywords:
        text += f" Only entries mentioning {_keywords(feed.keywords)} count."
    return truncate(text, CONTENT_LIMIT)


def feed_add_failed_text(url: str, reason: str) -> str:
    return truncate(
        f"I couldn't follow {code(url)}: {safe(reason, _ERROR_LIMIT)}. Check that the address "
        "is the feed itself (RSS or Atom, often ending in /feed or .xml), not the web page, "
        "and try again.", CONTENT_LIMIT)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else discord.utils.format_dt(moment, "R")


def feed_line(feed: Feed) -> str:
    head = [f"**#{feed.id} {safe(feed_name(feed), _LABEL_LIMIT)}**"]
    head.append("**disabled**" if feed.state == "disabled" else "active")
    if feed.review:
        head.append("review")
    if feed.keywords:
        head.append("keywords: " + ", ".join(safe(k, 40) for k in feed.keywords))
    lines = [" · ".join(head), code(feed.url)]
    status = [f"last fetch {_when(feed.last_fetch_at)}", f"last new item {_when(feed.last_new_at)}"]
    if feed.failures:
        status.append(f"{plural(feed.failures, 'failure')} in a row")
    if feed.unreadable_entries:
        status.append(f"{plural(feed.unreadable_entries, 'unreadable entry', 'unreadable entries')}"
                      " left out")
    lines.append(" · ".join(status))
    if feed.state == "disabled" and feed.disabled_reason:
        lines.append(f"disabled: {safe(feed.disabled_reason, _ERROR_LIMIT)}")
    elif feed.last_error and feed.failures:
        lines.append(f"last error: {safe(feed.last_error, _ERROR_LIMIT)}")
    return "\n".join(lines)


def feeds_embed(feeds: Sequence[Feed]) -> discord.Embed:
    embed = discord.Embed(title="Followed feeds", colour=BRAND_COLOUR)
    if not feeds:
        embed.description = "No feeds yet. Follow one with `/news feed add`."
        return embed
    embed.description = fit_blocks([feed_line(f) for f in feeds], _LIST_BUDGET,
                                   separator="\n\n", more="more feed")
    disabled = sum(f.state == "disabled" for f in feeds)
    footer = plural(len(feeds), "feed")
    if disabled:
        footer += f" · {disabled} disabled (add again to follow)"
    embed.set_footer(text=footer)
    return embed


def feed_removed_text(feed: Feed, dropped_pending: int) -> str:
    text = f"Stopped following **{safe(feed_name(feed), _LABEL_LIMIT)}** ({code(feed.url)})."
    if dropped_pending:
        text += (f" {plural(dropped_pending, 'entry', 'entries')} waiting for review "
                 "went with it.")
    return truncate(text, CONTENT_LIMIT)


def feed_choice_name(feed: Feed) -> str:
    """An autocomplete choice: plain text (choices are not markdown), at most 100 chars."""
    state = " (disabled)" if feed.state == "disabled" else ""
    label = " ".join(f"#{feed.id} {feed_name(feed)}".split())
    return truncate(label, CHOICE_NAME_LIMIT - len(state)) + state


def feed_disabled_notice(feed: Feed) -> str:
    """The DM owners get when a feed is disabled after failing again and again."""
    reason = feed.disabled_reason or feed.last_error or "it kept failing"
    return truncate(
        f"I stopped following the feed **{safe(feed_name(feed), _LABEL_LIMIT)}** "
        f"({code(feed.url)}): {safe(reason, 300)}. Other feeds are not affected. When it "
        "works again, run `/news feed add` with the same address to follow it again (entries "
        "published meanwhile are not posted).", CONTENT_LIMIT)


def held_embed(entry: HeldEntry, *, pending: int) -> discord.Embed:
    embed = discord.Embed(title=safe(entry.title, EMBED_TITLE_LIMIT),
                          description=safe(entry.body, BODY_LIMIT) if entry.body else None,
                          url=entry.url or None, colour=BRAND_COLOUR)
    feed = safe(entry.feed_title or entry.feed_url, _LABEL_LIMIT)
    embed.add_field(name="Feed", value=truncate(f"{feed}\n{code(entry.feed_url)}",
                                                EMBED_FIELD_VALUE_LIMIT), inline=False)
    if entry.url:
        embed.add_field(name="Link", value=code(entry.url, 300), inline=False)
    embed.set_footer(text=f"Published {month_label(entry.published) or entry.published} · "
                          f"{pending} waiting for review")
    return embed


def review_empty_text() -> str:
    return "Nothing is waiting for review. Feeds added with `review: True` hold entries here."


def review_outcome_text(outcome: ReviewOutcome) -> str:
    title = safe(outcome.entry.title, 150)
    match outcome.decision:
        case "posted":
            text = (f"Posted **{title}**: on its way to "
                    f"{plural(outcome.deliveries, 'subscribed channel')}.")
        case "dropped":
            text = f"Dropped **{title}**."
        case "duplicate":
            text = (f"**{title}** is already news (item #{outcome.item_id}), so it was dropped "
                    "instead of being sent twice.")
        case _:
            text = f"**{title}** was already decided by another owner."
    return truncate(text, CONTENT_LIMIT)
