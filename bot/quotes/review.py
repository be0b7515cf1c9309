"""Who may review submissions, and telling a submitter the outcome."""

from __future__ import annotations

import logging

import discord

from bot.render.quotes import outcome_embed
from bot.store.models import QuoteSubmission
from bot.store.quotes import QuotesRepository

log = logging.getLogger(__name__)

NOT_A_REVIEWER = ("Only reviewers can do that: members with the Manage Messages permission, or "
                  "with the role a server admin set with `/quote reviewers`.")


def is_reviewer(interaction: discord.Interaction, reviewer_role_id: int | None) -> bool:
    """Manage Messages (in this channel, as Discord resolved it) or the server's reviewer role."""
    if interaction.permissions.manage_messages:
        return True
    member = interaction.user
    if reviewer_role_id is None or not isinstance(member, discord.Member):
        return False
    return any(role.id == reviewer_role_id for role in member.roles)


async def tell_submitter(client: discord.Client, quotes: QuotesRepository,
                         submission: QuoteSubmission, guild_name: str) -> str:
    """DM the member who submitted the quote; record and return how it went ('sent', 'closed'
    when Discord refuses because their DMs are off, 'failed' otherwise)."""
    user_id = submission.quote.submitted_by
    if user_id is None:
        return "none"
    try:
        channel = await client.create_dm(discord.Object(id=user_id))
        await channel.send(embed=outcome_embed(submission, guild_name),
                           allowed_mentions=discord.AllowedMentions.none())
        status = "sent"
    except discord.Forbidden:
        status = "closed"
    except discord.HTTPException as exc:
        log.warning("could not DM the submitter of quote %s: %s", submission.quote.id, exc)
        status = "failed"
    await quotes.set_dm_status(submission.quote.id, status)
    return status
