"""Discord permission bits and the overwrite algorithm.

The emulator computes permissions the way Discord does so that what the bot sees through
`channel.permissions_for(guild.me)` and what the REST layer enforces (403 50001/50013) can never
disagree: both come from the same roles and overwrites.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import ChannelSpec, GuildSpec, MemberSpec


class Perm:
    """Bit values, named as in Discord's documentation (subset the emulator cares about)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38

    ALL = (1 << 53) - 1


# What @everyone gets in a freshly created server (close enough for bots).
DEFAULT_EVERYONE = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
)

# A typical invite link for a content bot grants these on its managed role.
DEFAULT_BOT = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.USE_EXTERNAL_EMOJIS
)

DEFAULT_MODERATOR = (
    Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES | Perm.MANAGE_CHANNELS | Perm.KICK_MEMBERS
)

# Discord removes these implicitly when SEND_MESSAGES is denied.
_SEND_DEPENDENT = (
    Perm.MENTION_EVERYONE | Perm.SEND_TTS_MESSAGES | Perm.ATTACH_FILES | Perm.EMBED_LINKS
)


def base_permissions(guild: GuildSpec, member: MemberSpec) -> int:
    if member.user.id == guild.owner_id:
        return Perm.ALL
    perms = guild.everyone_permissions
    roles = {r.id: r for r in guild.roles}
    for role_id in member.roles:
        role = roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & Perm.ADMINISTRATOR:
        return Perm.ALL
    return perms


def channel_permissions(guild: GuildSpec, channel: ChannelSpec, member: MemberSpec) -> int:
    perms = base_permissions(guild, member)
    if perms == Perm.ALL:
        return perms
    by_target = {(o.type, o.id): o for o in channel.overwrites}
    everyone = by_target.get((0, guild.id))
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        ow = by_target.get((0, role_id))
        if ow is not None:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    own = by_target.get((1, member.user.id))
    if own is not None:
        perms = (perms & ~own.deny) | own.allow
    if not perms & Perm.VIEW_CHANNEL:
        return 0
    if not perms & Perm.SEND_MESSAGES:
        perms &= ~_SEND_DEPENDENT
    return perms
