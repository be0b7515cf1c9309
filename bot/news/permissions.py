"""What the bot needs in a channel to post news there, named the way Discord's settings do."""

from __future__ import annotations

import discord

POST_PERMISSIONS = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    # To find out, before posting again long after a try whose outcome was lost (a crash, a
    # timeout), whether that try did go out: Discord's nonce only remembers for minutes.
    ("read_message_history", "Read Message History"),
)


def missing_post_permissions(perms: discord.Permissions) -> list[str]:
    """The permissions missing for posting a news embed, in Discord's own names.

    Publishing the bot's own post needs nothing more than Send Messages (Discord asks for
    Manage Messages only when crossposting someone else's message)."""
    return [label for attr, label in POST_PERMISSIONS if not getattr(perms, attr)]


def can_speak(perms: discord.Permissions) -> bool:
    """Enough for a plain-text notice."""
    return perms.view_channel and perms.send_messages
