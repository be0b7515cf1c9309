"""A local Discord (REST API v10 + gateway) for driving an unmodified discord.py client in tests.

It knows nothing about any particular bot: configure guilds with EmulatorConfig, connect a
client with bot.emulator.testing, then drive it with `invoke`, `autocomplete`, `press`, ...
"""

from .config import (
    ChannelSpec,
    EmulatorConfig,
    GuildSpec,
    MemberSpec,
    Overwrite,
    RoleSpec,
    UserSpec,
    default_config,
)
from .errors import ApiError, InvocationError, NoAnswer
from .faults import Fault
from .permissions import Perm
from .rest import RecordedRequest
from .results import InteractionResult, SentMessage
from .server import Emulator, EmulatorStats

__all__ = [
    "ApiError",
    "ChannelSpec",
    "Emulator",
    "EmulatorConfig",
    "EmulatorStats",
    "Fault",
    "GuildSpec",
    "InteractionResult",
    "InvocationError",
    "MemberSpec",
    "NoAnswer",
    "Overwrite",
    "Perm",
    "RecordedRequest",
    "RoleSpec",
    "SentMessage",
    "UserSpec",
    "default_config",
]
