"""Season news as Discord sees it: the post each subscriber gets, and the replies of /news.

Pure functions: every limit holds by construction, all stored text is escaped, and the only
ping a news post can make is the one role its subscription names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import discord

from bot.core.formatting import (
    BRAND_COLOUR,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    duration,
    fit_blocks,
    month_label,
    plural,
    safe,
    spoiler,
    truncate,
)
from bot.news.models import NewsItem, NewsStatus, NewsSubscription

if TYPE_CHECKING:  # bot.news imports this module
    from bot.news.health import EngineHealth

# A post is read in a busy channel: a few paragraphs, then a link for the rest.
BODY_LIMIT = 1500
LATEST_MAX = 10
_LATEST_TITLE_LIMIT = 150
_LATEST_SNIPPET_LIMIT = 300
_ERROR_LIMIT = 150
_LIST_BUDGET = EMBED_DESCRIPTION_LIMIT - 200


@dataclass(frozen=True, slots=True)
class NewsMessage:
    """Everything `channel.send` needs for one news post."""

    content: str | None
    embed: discord.Embed
    allowed_mentions: discord.AllowedMentions


def is_spoiler(season: int | None, watched_season: int | None) -> bool:
    """Content about a season the server has not watched yet is hidden."""
    return season is not None and watched_season is not None and season > watched_season


def web_url(url: str | None) -> str | None:
    """The address if Discord will take it as a link (http/https, within 2048 characters);
    feeds can carry anything, and a bad embed URL would get the whole post rejected."""
    if not url or len(url) > 2048 or any(c.isspace() for c in url):
        return None
    parsed = urlparse(url)
    return url if parsed.scheme in ("http", "https") and parsed.netloc else None


def _link(url: str) -> str:
    # Parentheses would close the markdown link early; percent-encoding keeps the address.
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def source_label(item: NewsItem) -> str:
    if item.sources:
        return ", ".join(s.label for s in item.sources)
    url = web_url(item.url)
    if url:
        host = urlparse(url).hostname
        if host:
            return host.removeprefix("www.")
    return "the bot's owners" if item.origin == "owner" else "news feed"


def news_embed(item: NewsItem, *, watched_season: int | None) -> discord.Embed:
    hidden = is_spoiler(item.season, watched_season)
    # Cut on a word boundary (marked with an ellipsis); the link leads to the whole story.
    body = safe(item.body, BODY_LIMIT) if item.body else ""
    url = web_url(item.url)
    more = f"[Read more]({_link(url)})" if url else None
    if hidden:
        # Embed titles cannot hold spoiler tags: the real headline moves into the spoiler.
        title = f"Season {item.season} news (spoiler for this server)"
        parts = [spoiler("**" + safe(item.title, EMBED_TITLE_LIMIT) + "**")]
        if body:
            parts.append(spoiler(body))
        if more:
            parts.append(spoiler(more))
        embed = discord.Embed(title=title, description="\n\n".join(parts), colour=BRAND_COLOUR)
    else:
        parts = [body] if body else []
        if more:
            parts.append(more)
        embed = discord.Embed(
            title=safe(item.title, EMBED_TITLE_LIMIT),
            description="\n\n".join(parts) or None,
            url=url,
            colour=BRAND_COLOUR,
        )
    if item.season is not None:
        embed.add_field(name="Season", value=str(item.season))
    embed.add_field(name="Source", value=safe(source_label(item), EMBED_FIELD_VALUE_LIMIT))
    embed.set_footer(text=f"Published {month_label(item.published) or item.published}"
                          f"{item_marker(item.id)}")
    return embed


def item_marker(item_id: int) -> str:
    """Ends every post's footer: how the bot recognises its own post of an item when it reads
    a channel back (Discord does not return a message's nonce there)."""
    return f" · news #{item_id}"


def is_post_of(footers: Sequence[str | None], item_id: int) -> bool:
    """Whether a message with these embed footers is the bot's post of this item."""
    marker = item_marker(item_id)
    return any(f is not None and f.endswith(marker) for f in footers)


def news_message(item: NewsItem, *, role_id: int | None,
                 watched_season: int | None) -> NewsMessage:
    """The post for one subscription: the embed, and a ping for its role if it has one."""
    embed = news_embed(item, watched_season=watched_season)
    if role_id is None:
        return NewsMessage(None, embed, discord.AllowedMentions.none())
    # Exactly this role may ping; nothing else in the message can (no users, no @everyone).
    mentions = discord.AllowedMentions(everyone=False, users=False,
                                       roles=[discord.Object(id=role_id)], replied_user=False)
    return NewsMessage(f"<@&{role_id}>", embed, mentions)


def latest_embed(items: Sequence[NewsItem], *, watched_season: int | None) -> discord.Embed:
    """/news latest: the newest items, compact, one field each. The 6000-character budget of
    one embed is shared out between the items, so any LATEST_MAX items fit."""
    embed = discord.Embed(title="Latest Heartstopper news", colour=BRAND_COLOUR)
    if not items:
        embed.description = "No news yet."
        return embed
    shown = items[:LATEST_MAX]
    share = (EMBED_TOTAL_LIMIT - 100) // len(shown)
    for item in shown:
        date = month_label(item.published) or item.published
        hidden = is_spoiler(item.season, watched_season)
        name = truncate(f"{date}: season {item.season} news (spoiler)" if hidden
                        else f"{date}: " + safe(item.title, _LATEST_TITLE_LIMIT), 256)
        room = min(EMBED_FIELD_VALUE_LIMIT, share - len(name))
        headline = spoiler("**" + safe(item.title, _LATEST_TITLE_LIMIT) + "**") if hidden else ""
        url = web_url(item.url)
        link = f"[Read more]({_link(url)})" if url else ""
        if hidden and link:
            link = spoiler(link)
        # A link cut in half is broken: keep it whole or leave it out.
        if len(headline) + len(link) + 2 > room - 40:
            link = ""
        snippet_room = min(_LATEST_SNIPPET_LIMIT, room - len(headline) - len(link) - 6)
        snippet = safe(item.body, snippet_room) if item.body and snippet_room > 0 else ""
        if hidden and snippet:
            snippet = spoiler(snippet)
        value = "\n".join(x for x in (headline, snippet, link) if x) or "No details."
        embed.add_field(name=name, value=truncate(value, room), inline=False)
    return embed


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else discord.utils.format_dt(moment, "R")


def subscription_line(sub: NewsSubscription) -> str:
    if sub.follows:
        return follow_line(sub)
    parts = [f"<#{sub.channel_id}>"]
    if sub.is_hub:
        parts.append("**the news hub**: gets every item and publishes it to the channels "
                     "that follow it")
    if sub.role_id:
        parts.append(f"pings <@&{sub.role_id}>")
    if sub.publish and not sub.is_hub:
        parts.append("publishes to followers")
    parts.append("**paused** (retrying)" if sub.state == "paused" else sub.state)
    parts.append(f"last post {_when(sub.last_delivery_at)}")
    line = " · ".join(parts)
    if sub.last_error:
        line += (f"\n  last error {_when(sub.last_error_at)}: "
                 f"{safe(sub.last_error, _ERROR_LIMIT)}")
    return line


def follow_line(sub: NewsSubscription) -> str:
    """A follow-mode channel: Discord delivers, so there is no 'last post' of the bot's."""
    if sub.state == "ended":
        return (f"<#{sub.channel_id}> · follow **ended** {_when(sub.updated_at)}: "
                f"{safe(sub.end_reason or 'ended', _ERROR_LIMIT)}. Run `/news subscribe` "
                "again to get news there.")
    line = (f"<#{sub.channel_id}> · follows the news hub (Discord copies each item) · "
            f"{sub.state} · follow last seen {_when(sub.follow_checked_at)}")
    if sub.last_error:
        line += f"\n  {safe(sub.last_error, _ERROR_LIMIT)}"
    return line


def subscriptions_embed(subs: Sequence[NewsSubscription],
                        ended: Sequence[NewsSubscription] = ()) -> discord.Embed:
    """The server's live subscriptions, and follows that ended without its asking (their
    webhook was deleted by hand), so nobody takes them for working."""
    embed = discord.Embed(title="News subscriptions in this server", colour=BRAND_COLOUR)
    live_ids = {s.channel_id for s in subs}
    ended = [e for e in ended if e.channel_id not in live_ids]
    if not subs and not ended:
        embed.description = ("No channel here gets news yet. Subscribe one with "
                             "`/news subscribe`.")
        return embed
    lines = [subscription_line(s) for s in subs] + [follow_line(e) for e in ended]
    if not subs:
        lines.append("No channel here gets news now. Subscribe one with `/news subscribe`.")
    embed.description = fit_blocks(lines, _LIST_BUDGET, separator="\n", more="more channel")
    embed.set_footer(text=plural(len(subs), "subscription"))
    return embed


def status_embed(status: NewsStatus, *, rate: float, max_rate: float, health: EngineHealth,
                 now: datetime, delivered_elsewhere: str | None = None) -> discord.Embed:
    """`delivered_elsewhere`: with shard slices, the process that delivers when it is not this
    one (its engine is idle here by design, not stopped)."""
    d, s = status.deliveries, status.subscriptions
    embed = discord.Embed(title="News delivery status", colour=BRAND_COLOUR)
    by_origin = ", ".join(f"{n} {o}" for o, n in sorted(status.items.items())) or "none"
    embed.add_field(name="Items", value=f"{status.total_items} ({by_origin})", inline=False)
    waiting = [f"{d['pending'] + d['sending']} pending ({d['sending']} in flight) · "
               f"{d['sent']} sent · {d['failed']} failed · {d['cancelled']} cancelled",
               f"{d['publish_pending'] + d['publishing']} waiting to be published"]
    if status.oldest_open_at is not None:
        waiting.append("The oldest unfinished delivery has waited "
                       f"{duration((now - status.oldest_open_at).total_seconds())}.")
    if status.hub_missed:
        waiting.append(f"**{plural(status.hub_missed, 'item')} never reached the channels "
                       "following the news hub**: the hub's post or publish was rejected (see "
                       "the log).")
    embed.add_field(name="Deliveries", value="\n".join(waiting), inline=False)
    following = (f"\nFollowing the news hub: {plural(status.following, 'channel')} "
                 "(Discord delivers to them)" if status.following else "")
    embed.add_field(
        name="Subscriptions",
        value=f"{s['active']} active · {s['paused']} paused · {s['ended']} ended{following}",
        inline=False,
    )
    engine = [f"{plural(health.in_hand, 'delivery', 'deliveries')} in hand"]
    if health.unrecorded:
        engine.append(f"{plural(health.unrecorded, 'outcome')} waiting to be written to the "
                      f"database (for {duration(health.unrecorded_for or 0)})")
    if delivered_elsewhere is not None:
        state = f"**delivered by another process**: {delivered_elsewhere}"
    else:
        state = ("**healthy**" if health.healthy
                 else f"**needs attention**: {health.problem}")
    embed.add_field(name="Engine", value=truncate(f"{state}\n" + " · ".join(engine),
                                                  EMBED_FIELD_VALUE_LIMIT), inline=False)
    error = health.last_store_error
    if error is not None:
        embed.add_field(name="Last database error",
                        value=truncate(f"{error.kind}: {safe(error.detail, _ERROR_LIMIT)}, "
                                       f"{discord.utils.format_dt(error.at, 'R')}",
                                       EMBED_FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Rate",
                    value=f"{rate:g} sends per second (Discord allows {max_rate:g})",
                    inline=False)
    return embed


def missing_text(missing: Sequence[str]) -> str:
    names = [f"**{m}**" for m in missing]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def pause_notice(channel_id: int, *, missing: Sequence[str], reason: str) -> str:
    """Told to a server whose news channel the bot can no longer post in."""
    what = (f"I'm missing {missing_text(missing)} there" if missing
            else f"Discord says: {safe(reason, _ERROR_LIMIT)}")
    return truncate(
        f"I can't post Heartstopper news in <#{channel_id}>: {what}. News for that channel is "
        "paused and nothing is lost: I'll keep retrying and post what was missed as soon as "
        "it works again. To stop instead, use `/news unsubscribe`.",
        2000,
    )


def subscribed_text(sub: NewsSubscription, *, renewed: bool, has_latest: bool) -> str:
    extras = []
    if sub.role_id:
        extras.append(f"pinging <@&{sub.role_id}>")
    if sub.publish:
        extras.append("publishing each post to the channel's followers")
    how = f" ({', '.join(extras)})" if extras else ""
    verb = "Updated" if renewed else "Subscribed"
    text = f"{verb}: new Heartstopper news will be posted in <#{sub.channel_id}>{how}."
    if has_latest:
        text += " Old news is not posted, but you can post the latest item there once now."
    return text


# Said where an admin picks follow mode (the option's choices) and in the reply: what Discord's
# channel following cannot do that the bot's own posts do.
FOLLOW_LIMITS = ("no role ping, no spoiler hiding for this server (the hub's setting applies), "
                 "and each post shows as coming from the hub's server")


def hub_wait_text(channel_id: int, titles: Sequence[str], *, eta: datetime,
                  now: datetime) -> str:
    """Why a channel cannot switch to follow mode yet: the bot posted these items there, and
    Discord would copy each again into it once the hub publishes it."""
    shown = [f"**{safe(t, 100)}**" for t in titles[:3]]
    if len(titles) > 3:
        shown.append(plural(len(titles) - 3, "more item"))
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    when = ("in a minute or so" if (eta - now).total_seconds() < 90 else
            f"after {discord.utils.format_dt(eta, 't')} ({discord.utils.format_dt(eta, 'R')})")
    return truncate(
        f"<#{channel_id}> can't switch to follow mode yet: I have posted (or am posting) "
        f"{listed} there, and the news hub has not published "
        f"{'it' if len(titles) == 1 else 'them'} yet (Discord allows about 10 publishes an "
        "hour), so Discord would copy "
        f"{'it' if len(titles) == 1 else 'them'} into the channel a second time. Nothing "
        f"changed. Try again {when}, once the hub's next publish slot has passed.", 2000)


def following_text(sub: NewsSubscription, *, hub_name: str, renewed: bool,
                   switched: bool) -> str:
    verb = "Still following" if renewed else "Following"
    text = (f"{verb}: <#{sub.channel_id}> now follows the news hub (**{safe(hub_name, 200)}**)."
            " Every news item appears there once, copied by Discord when the hub publishes it "
            "(Discord allows about 10 publishes an hour, so in a busy hour some items arrive "
            f"later). What follow mode can't do: {FOLLOW_LIMITS}.")
    if switched:
        text += " The bot no longer posts there itself."
    text += (" For pings and spoiler hiding, run `/news subscribe` on the channel without "
             "`mode` (the follow is then removed).")
    return truncate(text, 2000)
