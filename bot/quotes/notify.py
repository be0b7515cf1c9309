"""Telling a server's reviewers that a submission waits: one message per submission, in the
channel the server named with `/quote reviewers notify:`, pinging nobody.

A notice never gets in the way of submitting: it goes out after the member's reply, and whatever
goes wrong is recorded for `/quote reviewers` to show instead of being raised. The bot's
permissions are read from its cache first, so a channel it lost access to costs Discord no
refused request (each of which counts towards Cloudflare's ban on invalid requests)."""

from __future__ import annotations

import logging

import discord

from bot.quotes.models import QuoteSubmission
from bot.quotes.render import submission_notice
from bot.quotes.store import QuotesRepository

log = logging.getLogger(__name__)

CHANNEL_GONE = "The channel <#{channel}> no longer exists."
CANNOT_POST = "I can't post in <#{channel}>: I need View Channel and Send Messages there."


def missing_permissions(channel: discord.abc.GuildChannel) -> list[str]:
    """What the bot lacks to post a notice in `channel` (empty: nothing)."""
    me = channel.guild.me
    if me is None:
        return ["View Channel", "Send Messages"]
    perms = channel.permissions_for(me)
    wanted = {"View Channel": perms.view_channel, "Send Messages": perms.send_messages}
    return [name for name, granted in wanted.items() if not granted]


def notice_nonce(quote_id: int) -> str:
    """The same for every attempt at one submission's notice (Discord keeps one message)."""
    return f"qsub{quote_id}"[:25]


async def notify_reviewers(guild: discord.Guild | None, quotes: QuotesRepository,
                           submission: QuoteSubmission, pending_count: int) -> bool:
    """Post the notice for a new submission if this server asked for one; True if posted.
    Never raises: a failure is logged and recorded for `/quote reviewers`."""
    if guild is None:
        return False
    try:
        settings = await quotes.settings(guild.id)
        channel_id = settings.notify_channel_id
        if channel_id is None:
            return False
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            problem: str | None = CHANNEL_GONE.format(channel=channel_id)
        elif missing_permissions(channel):
            problem = CANNOT_POST.format(channel=channel_id)
        else:
            problem = None
            try:
                await channel.send(submission_notice(submission, pending_count),
                                   allowed_mentions=discord.AllowedMentions.none(),
                                   nonce=notice_nonce(submission.quote.id))
            except discord.NotFound:
                problem = CHANNEL_GONE.format(channel=channel_id)
            except discord.Forbidden:
                problem = CANNOT_POST.format(channel=channel_id)
        if problem != settings.notify_error:
            await quotes.record_notify_error(guild.id, problem)
        return problem is None
    except Exception:
        log.exception("could not tell the reviewers of server %s about submission %s",
                      guild.id, submission.quote.id)
        return False
