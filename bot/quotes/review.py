"""Who may review submissions, and telling a submitter the outcome."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.core.dm import send_dm
from bot.quotes.models import QuoteSubmission
from bot.quotes.render import outcome_embed
from bot.quotes.store import QuotesRepository

log = logging.getLogger(__name__)

NOT_A_REVIEWER = ("Only reviewers can do that: members with the Manage Messages permission for the "
                  "whole server (not just one channel), or with the role a server admin set "
                  "with `/quote reviewers`.")
OWN_SUBMISSION = ("You submitted this one, so another reviewer has to approve it. Skip it, or "
                  "reject it to withdraw it.")
NOT_FROM_HERE = ("That submission is not from this server. Run `/quote review` here to review "
                 "this server's submissions.")
EVERYONE_REFUSED = ("Everyone has @everyone, so anyone could approve their own quotes. Make a "
                    "role for your reviewers and pick that one.")
BOT_ROLE_REFUSED = "{role} belongs to a bot, so no member can hold it. Pick a role members have."


def server_permissions(interaction: discord.Interaction) -> discord.Permissions:
    """The member's permissions for the whole server: their roles (owner and Administrator
    included), not the channel's overwrites. `interaction.permissions` (what
    `app_commands.checks.has_permissions` reads) is Discord's answer for the channel the
    interaction came from, so Manage Messages given in one channel shows there."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return discord.Permissions.none()
    return member.guild_permissions


def is_reviewer(interaction: discord.Interaction, reviewer_role_id: int | None) -> bool:
    """Manage Messages for the whole server, or the server's reviewer role. Reviewing decides
    for every channel, so a channel's overwrite is not enough."""
    if server_permissions(interaction).manage_messages:
        return True
    member = interaction.user
    if reviewer_role_id is None or not isinstance(member, discord.Member):
        return False
    return any(role.id == reviewer_role_id for role in member.roles)


def require_manage_server(interaction: discord.Interaction) -> bool:
    """An app_commands check: Manage Server for the whole server (see server_permissions)."""
    if not server_permissions(interaction).manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


async def tell_submitter(client: discord.Client, quotes: QuotesRepository,
                         submission: QuoteSubmission, guild_name: str) -> str:
    """DM the member who submitted the quote; record and return how it went ('sent', 'closed'
    when Discord refuses because their DMs are off, 'failed' otherwise)."""
    user_id = submission.quote.submitted_by
    if user_id is None:
        return "none"
    result = await send_dm(client, user_id, embed=outcome_embed(submission, guild_name))
    await quotes.set_dm_status(submission.quote.id, result.value)
    return result.value
