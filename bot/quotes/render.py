"""Quotes as Discord shows them: the quote card with its attribution, search pages, the review
card, a member's submissions and the replies of /quote.

Pure functions: every limit holds by construction, every stored or typed text is escaped, and a
quote about a season the server has not watched yet is wrapped in spoiler tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import discord

from bot.canon.models import Source
from bot.canon.parts import episode_label, part_label
from bot.core.formatting import (
    BRAND_COLOUR,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    escape,
    month_label,
    plural,
    safe,
    spoiler,
    truncate,
)
from bot.quotes.models import (
    DailyQuoteSchedule,
    Quote,
    QuoteAuditEntry,
    QuoteSearchPage,
    QuoteSettings,
    QuoteSubmission,
)
from bot.quotes.store import MATCH_END, MATCH_START

# A card's parts add up to well under Discord's 6,000 per embed, whatever they hold: a quote is
# at most 1,000 characters and escaping can double that.
QUOTE_LIMIT = 2100
_LINE_LIMIT = 300  # speaker, outlet and date
_ABOUT_LIMIT = 400
_SOURCES_LIMIT = 700
_FOOTER_LIMIT = 300
# Ten list entries of at most ~500 characters stay well inside the 6,000 of a whole embed.
_LIST_QUOTE_LIMIT = 200
_LIST_REASON_LIMIT = 200
_LIST_BUDGET = EMBED_TOTAL_LIMIT - 200
# A page of five search hits: 5 x (200 + 700 + marks) plus title, notes and footer < 6,000.
_HIT_NAME_LIMIT = 200
_HIT_LIMIT = 700
_SOURCE_LIMIT = 300
_STATUS = {"pending": "Waiting for review", "approved": "Approved", "rejected": "Rejected",
           "removed": "Removed by a reviewer"}
# The seed's key for the article the project was seeded from (data/sources.json): its quotes
# say they come from it.
ARTICLE_SOURCE = "article"
_DM_NOTE = {
    "closed": "I couldn't tell you by DM (your DMs are closed for this server).",
    "failed": "I couldn't tell you by DM.",
}


def is_spoiler(quote: Quote, watched_season: int | None) -> bool:
    """A quote concerning a season the server has not watched yet is hidden."""
    return (quote.season is not None and watched_season is not None
            and quote.season > watched_season)


def quoted(text: str, limit: int) -> str:
    """The quote's words, escaped, in curly quotes, within `limit` characters."""
    return f"“{safe(text, limit - 2)}”"


def speaker_line(quote: Quote) -> str:
    """'Kit Connor (plays Nick Nelson)', 'Alice Oseman (creator)', or the name as submitted."""
    name = quote.speaker.name if quote.speaker else quote.speaker_name
    if quote.speaker_plays:
        detail = "plays " + " and ".join(quote.speaker_plays)
    elif quote.speaker:
        # The first of their behind-the-camera roles ('creator', 'director', ...); cast members
        # who play no seeded character get none.
        detail = next((r for r in quote.speaker.roles if r != "cast"), "")
    else:
        detail = ""
    return f"{name} ({detail})" if detail else name


def from_article(quote: Quote) -> Source | None:
    """The seed article, when the quote was taken from it."""
    return next((s for s in quote.sources if s.key == ARTICLE_SOURCE), None)


def outlet_line(quote: Quote) -> str | None:
    """Where and when, as far as known: 'PinkNews · October 2024', 'PinkNews', 'May 2022'; for
    a quote from the seed article that names neither, that it comes from the article; None
    when nothing is known (a card then leaves the line out rather than say so)."""
    known = [part for part in (quote.outlet, month_label(quote.said_on)) if part]
    if known:
        return " · ".join(known)
    article = from_article(quote)
    if article is not None:
        return f"From the article “{truncate(article.title, 200)}”"
    return None


def _link(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def source_line(quote: Quote) -> str:
    """Where the quote was found: the seed's sources as links where they have one, or what a
    submitter gave."""
    parts: list[str] = []
    for source in quote.sources:
        if source.key == ARTICLE_SOURCE:
            label = (f"{'the' if parts else 'The'} article "
                     f"“{escape(truncate(source.title, 200))}”")
        else:
            label = escape(truncate(source.label, 100))
        parts.append(f"[{label}]({_link(source.url)})" if source.url else label)
    if quote.source_text:
        parts.append(safe(quote.source_text, _SOURCE_LIMIT))
    if quote.status == "approved" and quote.submitted_by:
        parts.append(f"submitted by <@{quote.submitted_by}>")
    # Whole parts only: cutting one could leave half a markdown link.
    shown: list[str] = []
    for part in parts:
        if len(" · ".join([*shown, part])) > _SOURCES_LIMIT - 4:
            shown.append("…")
            break
        shown.append(part)
    return " · ".join(shown)


def attribution(quote: Quote) -> str:
    """One line, e.g. 'Kit Connor (plays Nick Nelson) · Entertainment Weekly · May 2022': what
    is known of where and when, else the source a member gave."""
    where = outlet_line(quote)
    if where is None and quote.source_text:
        where = truncate(quote.source_text, 100)
    return f"{speaker_line(quote)} · {where}" if where else speaker_line(quote)


def _about_line(quote: Quote, hidden: bool, watched_season: int | None) -> str | None:
    parts = list(quote.about)
    if quote.season is not None:
        # 'season 3, episode 4' where the quote is about one episode; the film is 'the film'.
        what = (episode_label(quote.season, quote.episode) if quote.episode is not None
                else part_label(quote.season))
        if hidden:
            watched = ("has not started watching" if not watched_season
                       else f"has watched up to {part_label(watched_season)}")
            parts.append(f"{what} (hidden as a spoiler: this server {watched})")
        else:
            parts.append(what)
    return " · ".join(parts) if parts else None


def quote_embed(quote: Quote, *, watched_season: int | None, title: str | None = None,
                footer: str | None = None) -> discord.Embed:
    hidden = is_spoiler(quote, watched_season)
    words = quoted(quote.text, QUOTE_LIMIT)
    embed = discord.Embed(
        title=truncate(title, EMBED_TITLE_LIMIT) if title else None,
        description=spoiler(words) if hidden else words,
        colour=BRAND_COLOUR,
    )
    embed.add_field(name="Said by", value=safe(speaker_line(quote), _LINE_LIMIT))
    where = outlet_line(quote)
    if where:
        embed.add_field(name="Where and when", value=safe(where, _LINE_LIMIT))
    about = _about_line(quote, hidden, watched_season)
    if about:
        embed.add_field(name="About", value=safe(about, _ABOUT_LIMIT), inline=False)
    source = source_line(quote)
    if source:
        embed.add_field(name="Source", value=source, inline=False)
    # The number reviewers type in /quote remove, hide and history.
    embed.set_footer(text=truncate(f"Quote #{quote.id}" + (f" · {footer}" if footer else ""),
                                   _FOOTER_LIMIT))
    return embed


def random_footer(cycle: int, new_cycle: bool) -> str:
    if new_cycle:
        return (f"Every matching quote has been shown here: starting round {cycle}. "
                "Another shows the next one.")
    return "Another shows the next one; every matching quote comes once before any repeats."


def no_match_text(filters: str | None) -> str:
    if filters:
        return f"No quotes here are {filters}. Try fewer filters."
    return "There are no quotes here yet. Members can propose one with `/quote submit`."


# ---- search ---------------------------------------------------------------------------------


def highlighted(snippet: str, limit: int) -> str:
    """A search snippet with its matches in bold, escaped, within `limit`.

    The match markers are control characters that escaping leaves alone, so the whole text is
    escaped first (markdown and mentions in the quote stay inert) and only then do the markers
    become `**`. If that would not fit, the snippet is shown without highlighting.
    """
    merged = snippet.replace(MATCH_END + MATCH_START, "")
    # A marker inside "@everyone" or "<@123>" would hide it from mention neutralising, so
    # every @ is defused up front, markers or not.
    merged = merged.replace("@", "@\u200b")
    text = escape(merged).replace(MATCH_START, "**").replace(MATCH_END, "**")
    if len(text) <= limit:
        return text
    plain = merged.replace(MATCH_START, "").replace(MATCH_END, "")
    return safe(plain, limit)


def search_embed(query: str, page: QuoteSearchPage, *, literal: bool, help_text: str,
                 watched_season: int | None) -> discord.Embed:
    title = f"Quotes matching “{truncate(' '.join(query.split()), 150)}”"
    embed = discord.Embed(title=safe(title, EMBED_TITLE_LIMIT), colour=BRAND_COLOUR)
    notes = []
    if literal:
        notes.append("Your search had characters with a special meaning in search syntax, so I "
                     "looked for its words as plain text. " + help_text)
    if not page.hits and page.total:
        # Quotes went away since the pages were counted (an older pager's button).
        notes.append(f"There is no page {page.page + 1} any more: these words now match "
                     f"{plural(page.total, 'quote')}. Go back a page or search again.")
    elif not page.hits:
        notes.append("No quotes match. Try fewer or other words.")
    embed.description = truncate("\n\n".join(notes), EMBED_DESCRIPTION_LIMIT) or None
    first = page.page * page.per_page
    for number, hit in enumerate(page.hits, start=first + 1):
        value = "“" + highlighted(hit.snippet, _HIT_LIMIT) + "”"
        if is_spoiler(hit.quote, watched_season):
            value = spoiler(value)
        name = f"{number}. {attribution(hit.quote)}"
        embed.add_field(name=f"{safe(name, _HIT_NAME_LIMIT - 24)} · #{hit.quote.id}",
                        value=value, inline=False)
    if page.total:
        more = "+" if page.capped else ""
        count = f"{page.total:,}+ quotes" if page.capped else plural(page.total, "quote")
        order = "best matches first" if page.ranked else "newest first"
        embed.set_footer(text=f"Page {page.page + 1} of {page.page_count}{more} · {count} · "
                         f"{order}")
    return embed


# ---- submissions and review -------------------------------------------------------------------


def submitted_text(pending_count: int) -> str:
    return (f"Thanks! Your quote is waiting for review ({plural(pending_count, 'submission')} "
            "in the queue). I'll tell you the outcome by DM if your DMs are open; "
            "`/quote mine` always shows where it stands.")


def duplicate_embed(existing: Quote, *, watched_season: int | None) -> discord.Embed:
    return quote_embed(existing, watched_season=watched_season,
                       title="This looks a lot like a quote I already have",
                       footer="Your submission was still sent for review; reviewers will see "
                              "the resemblance.")


def review_embed(submission: QuoteSubmission, *, pending_count: int,
                 duplicate: Quote | None) -> discord.Embed:
    quote = submission.quote
    embed = discord.Embed(title=f"Submission #{quote.id}", description=quoted(quote.text,
                          QUOTE_LIMIT), colour=BRAND_COLOUR)
    embed.add_field(name="Said by (as submitted)",
                    value=safe(speaker_line(quote), _LINE_LIMIT))
    embed.add_field(name="Source (as submitted)",
                    value=safe(quote.source_text, _SOURCES_LIMIT)
                    if quote.source_text else "None given")
    embed.add_field(name="Submitted by",
                    value=f"<@{quote.submitted_by}> on {submission.submitted_at[:10]}",
                    inline=False)
    if duplicate is not None:
        embed.add_field(
            name="Possible duplicate of",
            value=truncate(f"{quoted(duplicate.text, _LIST_QUOTE_LIMIT)} "
                           f"— {safe(attribution(duplicate), 300)}", EMBED_FIELD_VALUE_LIMIT),
            inline=False,
        )
    embed.set_footer(text=f"{plural(pending_count, 'submission')} waiting · Approve adds it to "
                     "this server's quotes; Reject lets you give the member a reason")
    return embed


def review_empty_text() -> str:
    return "Nothing is waiting for review. New submissions from `/quote submit` will appear here."


def waiting_text(pending_count: int) -> str:
    """What `/quote review` says above the card."""
    if pending_count <= 1:
        return "**1 submission waits for review.**"
    return (f"**{pending_count:,} submissions wait for review**, oldest first. `/quote queue` "
            "lists them.")


def queue_embed(submissions: Sequence[QuoteSubmission], *, pending_count: int, page: int,
                per_page: int) -> discord.Embed:
    """A page of the submissions waiting for review, oldest first."""
    pages = max(1, -(-pending_count // per_page))
    embed = discord.Embed(title=f"Waiting for review: {plural(pending_count, 'submission')}",
                          colour=BRAND_COLOUR)
    if not submissions:
        embed.description = (review_empty_text() if not pending_count else
                             f"There is no page {page + 1} any more. Run `/quote queue` again.")
        return embed
    embed.description = "`/quote review` goes through them one by one, oldest first."
    for item in submissions:
        quote = item.quote
        name = f"#{quote.id} · submitted {item.submitted_at[:10]}"
        lines = [quoted(quote.text, _LIST_QUOTE_LIMIT),
                 f"— {safe(speaker_line(quote), 100)} · sent by <@{quote.submitted_by}>"]
        if item.near_duplicate_of:
            lines.append(f"Possibly a duplicate of quote #{item.near_duplicate_of}")
        value = truncate("\n".join(lines), EMBED_FIELD_VALUE_LIMIT)
        if len(embed) + len(name) + len(value) > _LIST_BUDGET:
            break  # ten entries of these sizes always fit; a guard, not a feature
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed


def submission_notice(submission: QuoteSubmission, pending_count: int) -> str:
    """The message in a server's notice channel when a submission arrives (never a ping: the
    words are escaped and the message is sent with no mentions allowed)."""
    quote = submission.quote
    return (f"A quote submission is waiting for review: #{quote.id}, "
            f"{quoted(quote.text, 300)} (said by {safe(quote.speaker_name, 100)}). "
            f"{plural(pending_count, 'submission')} waiting; reviewers can run `/quote review`.")


# ---- moderation: removing, hiding and the history ---------------------------------------------

_DONE = {
    "removed": "Removed quote #{id}: it is out of this server's rotation, search and quote of "
               "the day. `/quote restore id:{id}` brings it back.",
    "restored": "Restored quote #{id}: it is back in this server's quotes.",
    "hidden": "Hidden quote #{id} in this server (other servers still show it). "
              "`/quote unhide id:{id}` shows it again.",
    "unhidden": "Quote #{id} is shown in this server again.",
}
_DID = {"approved": "Approved", "rejected": "Rejected", "removed": "Removed",
        "restored": "Restored", "hidden": "Hidden", "unhidden": "Unhidden"}
_STANDING = {
    "shown": "In this server's quotes.",
    "removed": "Removed: not shown in this server.",
    "hidden": "Hidden in this server (other servers show it).",
    "pending": "Waiting for review.",
    "rejected": "Rejected.",
}
_HISTORY_REASON_LIMIT = 200
_HISTORY_BUDGET = EMBED_DESCRIPTION_LIMIT - 200


def moderated_text(quote: Quote, action: str) -> str:
    return f"{_DONE[action].format(id=quote.id)}\n{quoted(quote.text, 300)}"


def _short_time(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:f>"


def _audit_line(entry: QuoteAuditEntry, *, with_id: bool) -> str:
    by = f" by <@{entry.actor_id}>" if entry.actor_id else ""
    line = f"{_short_time(entry.at)} · {_DID.get(entry.action, entry.action)}"
    if with_id:
        line += f" #{entry.quote_id}"
    line += by
    if entry.reason:
        line += f": {safe(entry.reason, _HISTORY_REASON_LIMIT)}"
    return line


def _lines_within(lines: Sequence[str], budget: int) -> str:
    shown: list[str] = []
    for line in lines:
        if sum(len(s) + 1 for s in shown) + len(line) > budget:
            shown.append("…")
            break
        shown.append(line)
    return "\n".join(shown)


def history_embed(quote: Quote, standing: str, entries: Sequence[QuoteAuditEntry],
                  submission: QuoteSubmission | None) -> discord.Embed:
    """One quote's history in this server, newest first, for reviewers."""
    embed = discord.Embed(title=f"History of quote #{quote.id}", colour=BRAND_COLOUR)
    embed.add_field(name="Quote", value=truncate(
        f"{quoted(quote.text, _LIST_QUOTE_LIMIT)} — {safe(attribution(quote), 300)}",
        EMBED_FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Now", value=_STANDING.get(standing, standing), inline=False)
    lines = [_audit_line(e, with_id=False) for e in entries]
    if submission is not None:
        lines.append(f"Submitted by <@{quote.submitted_by}> on {submission.submitted_at[:10]}")
    elif quote.status == "canon":
        lines.append("One of the shared quotes every server has.")
    embed.description = _lines_within(lines, _HISTORY_BUDGET) or "Nothing decided yet."
    return embed


def recent_history_embed(entries: Sequence[QuoteAuditEntry]) -> discord.Embed:
    """This server's latest quote decisions, newest first."""
    embed = discord.Embed(title="Recent quote decisions here", colour=BRAND_COLOUR)
    if not entries:
        embed.description = ("No quote has been approved, rejected, removed or hidden here yet.")
        return embed
    embed.description = _lines_within([_audit_line(e, with_id=True) for e in entries],
                                      _HISTORY_BUDGET)
    embed.set_footer(text="/quote history id: shows one quote's history.")  # no markdown
    return embed


def notify_text(settings: QuoteSettings, *, changed: bool) -> str:
    """The notice channel's part of `/quote reviewers`."""
    channel = settings.notify_channel_id
    if channel is None:
        lead = "Done: no more notices of new submissions." if changed else \
            "New submissions are not announced in any channel."
        return f"{lead} `notify:` names a channel for them."
    text = (f"Done: each new submission will be announced in <#{channel}>, pinging nobody."
            if changed else f"New submissions are announced in <#{channel}>, pinging nobody.")
    if settings.notify_error:
        text += f" The last notice could not be posted: {safe(settings.notify_error, 200)}"
    return text + " `notify_off:True` stops it."


def reviewers_text(role_id: int | None, *, exists: bool, changed: bool) -> str:
    """What `/quote reviewers` answers: the setting just made (`changed`) or as it stands."""
    everyone_else = "anyone with Manage Messages for the whole server"
    if role_id is None:
        lead = "Done: there is no reviewer role now." if changed else \
            "There is no reviewer role here."
        return (f"{lead} Only members with Manage Messages for the whole server can review "
                "quote submissions. Choose a role with `role:`.")
    role = f"<@&{role_id}>"
    if changed:
        return f"Members with {role} can now review quote submissions, as can {everyone_else}."
    if not exists:
        return (f"The reviewer role set here ({role}) no longer exists, so only members with "
                "Manage Messages for the whole server can review. Choose another with `role:`, "
                "or remove it with `clear:True`.")
    return (f"Members with {role} review quote submissions here, as does {everyone_else}. "
            "Choose another role with `role:`, or remove it with `clear:True`.")


def decided_text(submission: QuoteSubmission, dm_status: str) -> str:
    verb = "Approved" if submission.quote.status == "approved" else "Rejected"
    told = {"sent": "the member was told by DM",
            "closed": "their DMs are closed, so `/quote mine` will tell them",
            "failed": "the DM failed, so `/quote mine` will tell them"}.get(dm_status, "")
    return f"{verb} submission #{submission.quote.id}" + (f"; {told}." if told else ".")


def outcome_embed(submission: QuoteSubmission, guild_name: str) -> discord.Embed:
    """The DM a submitter gets when their quote is reviewed."""
    approved = submission.quote.status == "approved"
    title = ("Your quote was approved" if approved else "Your quote was not accepted")
    embed = discord.Embed(title=title, description=quoted(submission.quote.text, QUOTE_LIMIT),
                          colour=BRAND_COLOUR)
    embed.add_field(name="Server", value=safe(guild_name, 200))
    if approved:
        embed.add_field(name="What now", value="It is now part of that server's quotes for "
                        "`/quote random`, `/quote search` and the quote of the day.",
                        inline=False)
    elif submission.reason:
        embed.add_field(name="Reason", value=safe(submission.reason, _SOURCES_LIMIT),
                        inline=False)
    return embed


def mine_embed(submissions: Sequence[QuoteSubmission], counts: dict[str, int]) -> discord.Embed:
    embed = discord.Embed(title="Your quote submissions here", colour=BRAND_COLOUR)
    if not submissions:
        embed.description = ("You haven't submitted any quotes in this server. `/quote submit` "
                             "proposes one for review.")
        return embed
    summary = ", ".join(f"{counts.get(s, 0)} {label.lower()}" for s, label in _STATUS.items())
    embed.description = f"{summary}. The newest {plural(len(submissions), 'submission')}:"
    for item in submissions:
        quote = item.quote
        status = _STATUS["removed"] if item.removed else _STATUS.get(quote.status, quote.status)
        name = f"#{quote.id} · {status} · submitted {item.submitted_at[:10]}"
        lines = [quoted(quote.text, _LIST_QUOTE_LIMIT)]
        if quote.status == "rejected" and item.reason:
            lines.append(f"Reason: {safe(item.reason, _LIST_REASON_LIMIT)}")
        if item.removed and item.removed_reason:
            lines.append(f"Reason: {safe(item.removed_reason, _LIST_REASON_LIMIT)}")
        if item.dm_status in _DM_NOTE:
            lines.append(_DM_NOTE[item.dm_status])
        value = truncate("\n".join(lines), EMBED_FIELD_VALUE_LIMIT)
        if len(embed) + len(name) + len(value) > _LIST_BUDGET:
            break  # never happens with 10 items at these limits; a guard, not a feature
        embed.add_field(name=name, value=value, inline=False)
    return embed


# ---- quote of the day -----------------------------------------------------------------------


def daily_embed(quote: Quote, *, day: date, watched_season: int | None) -> discord.Embed:
    label = f"{day.day} {day.strftime('%B %Y')}"
    return quote_embed(quote, watched_season=watched_season, title=f"Quote of the day · {label}",
                       footer="Posted daily with /quote daily; every quote comes once before "
                              "any repeats.")


def _timestamp(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:F>"


def daily_status_text(schedule: DailyQuoteSchedule | None) -> str:
    if schedule is None:
        return ("No quote of the day is set up here. `/quote daily set` posts one every day in a "
                "channel at a time you choose.")
    text = (f"The quote of the day goes to <#{schedule.channel_id}> at {schedule.local_time} "
            f"({schedule.timezone}). Next one: {_timestamp(schedule.next_due)}.")
    if schedule.last_posted_at is not None:
        moment = int(schedule.last_posted_at.timestamp())
        text += f"\nThe last one went out <t:{moment}:F> (<t:{moment}:R>)."
    elif schedule.last_posted_on is not None:  # posted before the time was kept: the day is known
        text += (f"\nThe last one went out on {schedule.last_posted_on:%A} "
                 f"{schedule.last_posted_on.day} {schedule.last_posted_on:%B %Y}.")
    else:
        text += "\nNone has gone out yet."
    if schedule.last_error:
        text += f"\nLast problem: {safe(schedule.last_error, 300)}"
    return text


def daily_now_text(schedule: DailyQuoteSchedule) -> str:
    return (f"Posted a quote of the day in <#{schedule.channel_id}>. The scheduled one still "
            f"comes {_timestamp(schedule.next_due)}.")


def daily_set_text(schedule: DailyQuoteSchedule) -> str:
    return (f"Done: a quote of the day will be posted in <#{schedule.channel_id}> every day at "
            f"{schedule.local_time} {schedule.timezone} time, the first "
            f"{_timestamp(schedule.next_due)}. `/quote daily off` stops it.")
