"""The one error path: a user-facing error becomes a short ephemeral reply; anything else is
logged with a reference the user can quote, and never shown as a traceback."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.core.database import StoreUnavailable

log = logging.getLogger(__name__)

# Passed on every send, though the client's default is the same: text from users and feeds must
# never ping, even if someone changes that default. One object for every module.
NO_MENTIONS = discord.AllowedMentions.none()


class UserFacingError(Exception):
    """Raise from a service, command or component with a message the user should read.

    A plain exception, so services need nothing of discord.py: raised in a command, discord.py
    wraps it in CommandInvokeError, which `user_message` unwraps. (Not for `app_commands.check`
    predicates, whose failures must be AppCommandErrors to reach the tree's error handler.)"""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _format_seconds(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _permission_names(perms: list[str]) -> str:
    return ", ".join(p.replace("_", " ").replace("guild", "server").title() for p in perms)


def store_unavailable_message(error: StoreUnavailable) -> str:
    if error.kind == "busy":
        return ("My database is busy right now, so nothing was saved. Please try again in a "
                "few seconds.")
    return ("I can't save anything right now (my database is failing), so nothing was "
            "changed. The bot's operator can see why in its log; please try again later.")


def user_message(error: Exception) -> str | None:
    """The text to show for an error a user caused (or the store refused), or None for a
    bug."""
    if isinstance(error, app_commands.CommandInvokeError) and isinstance(
        error.original, UserFacingError | StoreUnavailable
    ):
        error = error.original
    if isinstance(error, UserFacingError):
        return error.message
    if isinstance(error, StoreUnavailable):
        return store_unavailable_message(error)
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {_format_seconds(error.retry_after)}."
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {_permission_names(error.missing_permissions)} permission for this."
    if isinstance(error, app_commands.BotMissingPermissions):
        return (f"I need the {_permission_names(error.missing_permissions)} permission here; "
                "ask a server admin to grant it.")
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand {error.value!r}: please pick one of the suggestions."
    return None


async def reply_ephemeral(interaction: discord.Interaction, text: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True,
                                                    allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.warning("could not deliver an error reply for interaction %s", interaction.id)


# Discord's "Unknown interaction": answered after its 3 s deadline (or 15 minutes, for a follow-up).
UNKNOWN_INTERACTION = 10062
# The one line logged for such an answer (with the interaction's id and server).
EXPIRED_LOG = ("interaction %s (guild %s) was answered after Discord's deadline; the bot is "
               "too busy, or was paused")


def expired(error: Exception) -> bool:
    """Whether `error` is Discord refusing an answer that came too late: nothing more can be
    said to that user, and it is no bug of the command's."""
    original = getattr(error, "original", error)
    return isinstance(original, discord.NotFound) and original.code == UNKNOWN_INTERACTION


async def report_error(interaction: discord.Interaction, error: Exception) -> None:
    """Answer the user for any failure in a command, autocomplete or component."""
    if expired(error):
        # One line, no traceback and no error reply (it would be refused too): when the bot
        # is overloaded, these come by the hundred, and formatting tracebacks for each would
        # take the time the next interactions need to be answered in time.
        log.warning(EXPIRED_LOG, interaction.id, interaction.guild_id)
        return
    message = user_message(error)
    original = getattr(error, "original", error)
    if isinstance(original, StoreUnavailable):
        log.warning("interaction %s (guild %s) could not write: %s", interaction.id,
                    interaction.guild_id, original)
    if message is None:
        reference = secrets.token_hex(4).upper()
        original = getattr(error, "original", error)
        log.error("interaction failed (reference %s, user %s, guild %s)", reference,
                  interaction.user.id, interaction.guild_id,
                  exc_info=(type(original), original, original.__traceback__))
        message = (f"Something went wrong on my side. It has been logged with reference "
                   f"`{reference}`; please mention it if you report this.")
    if interaction.type is discord.InteractionType.autocomplete:
        return  # autocomplete cannot show a message; the user simply gets no suggestions
    await reply_ephemeral(interaction, message)
