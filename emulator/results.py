"""What a test looks at after driving the bot: messages as Discord would show them.

Both classes are live views over the emulator's store, so a message edited after the call
returned shows its latest version; `.raw` is the exact payload Discord would serve.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import NoAnswer
from .state import (
    MESSAGE_FLAG_CROSSPOSTED,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    StoredMessage,
)

if TYPE_CHECKING:
    from .server import Emulator


def walk_components(components: list[dict[str, Any]]):
    for c in components or []:
        yield c
        yield from walk_components(c.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(c.get(key), dict):
                yield from walk_components([c[key]])


class SentMessage:
    def __init__(self, stored: StoredMessage) -> None:
        self._stored = stored

    def __repr__(self) -> str:
        return f"<SentMessage id={self.id} content={self.content[:40]!r} embeds={len(self.embeds)}>"

    @property
    def raw(self) -> dict[str, Any]:
        return self._stored.payload

    @property
    def id(self) -> int:
        return self._stored.id

    @property
    def channel_id(self) -> int:
        return self._stored.channel_id

    @property
    def author_id(self) -> int:
        return int(self.raw["author"]["id"])

    @property
    def content(self) -> str:
        return self.raw.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.raw.get("embeds") or []

    @property
    def embed(self) -> dict[str, Any] | None:
        return self.embeds[0] if self.embeds else None

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.raw.get("components") or []

    def all_components(self) -> list[dict[str, Any]]:
        return list(walk_components(self.components))

    @property
    def buttons(self) -> list[str]:
        return [c.get("label") or "" for c in self.all_components() if c.get("type") == 2]

    def button(self, label: str | None = None, custom_id: str | None = None) -> dict[str, Any]:
        for c in self.all_components():
            if c.get("type") != 2:
                continue
            if (label is not None and c.get("label") == label) or (
                custom_id is not None and c.get("custom_id") == custom_id
            ):
                return c
        raise KeyError(f"no button {label or custom_id!r}; buttons: {self.buttons}")

    @property
    def flags(self) -> int:
        return int(self.raw.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & MESSAGE_FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & MESSAGE_FLAG_LOADING)

    @property
    def crossposted(self) -> bool:
        return bool(self.flags & MESSAGE_FLAG_CROSSPOSTED)

    @property
    def nonce(self) -> str | int | None:
        return self.raw.get("nonce")

    @property
    def deleted(self) -> bool:
        return self._stored.deleted

    @property
    def edited(self) -> bool:
        return self.raw.get("edited_timestamp") is not None

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        return self._stored.allowed_mentions

    @property
    def pinged_user_ids(self) -> list[int]:
        return [int(u["id"]) for u in self.raw.get("mentions") or []]

    @property
    def pinged_role_ids(self) -> list[int]:
        return [int(r) for r in self.raw.get("mention_roles") or []]

    @property
    def pings_everyone(self) -> bool:
        return bool(self.raw.get("mention_everyone"))

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return self.raw.get("attachments") or []


@dataclass
class InteractionRecord:
    """Server-side bookkeeping for one interaction (Discord's view of it)."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    guild_id: int | None
    channel_id: int
    user_id: int
    dispatched_at: float
    payload: dict[str, Any]
    source_message_id: int | None = None  # component interactions: the message clicked
    response_type: int | None = None
    message_id: int | None = None  # the original response (or the updated message)
    followup_ids: list[int] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: bool = False
    answered: bool = False  # a visible answer exists (not just a defer)
    activity: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.activity += 1
        self.event.set()


class InteractionResult:
    def __init__(self, emu: Emulator, record: InteractionRecord) -> None:
        self._emu = emu
        self.record = record

    def __repr__(self) -> str:
        return (
            f"<InteractionResult type={self.type} answered={self.answered} "
            f"message={self.message!r} followups={len(self.followups)} errors={self.errors}>"
        )

    @property
    def interaction_id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def type(self) -> int | None:
        """The accepted callback type: 4 message, 5 defer, 6 deferred update, 7 update,
        8 autocomplete, 9 modal; None if the bot never (validly) answered."""
        return self.record.response_type

    @property
    def deferred(self) -> bool:
        return self.record.response_type in (5, 6)

    @property
    def answered(self) -> bool:
        return self.record.answered

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Error answers Discord gave the bot about this interaction (e.g. 10062, 40060, 50035)."""
        return self.record.errors

    @property
    def error_codes(self) -> list[int]:
        return [e["code"] for e in self.record.errors]

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        return self.record.choices

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.record.modal

    def _message(self, mid: int | None) -> SentMessage | None:
        stored = self._emu.world.messages.get(mid) if mid is not None else None
        if stored is None or stored.deleted:
            return None
        return SentMessage(stored)

    @property
    def message(self) -> SentMessage | None:
        """The visible response: the original reply (after edits), or for component
        interactions the clicked message as updated."""
        return self._message(self.record.message_id)

    @property
    def followups(self) -> list[SentMessage]:
        msgs = [self._message(m) for m in self.record.followup_ids]
        return [m for m in msgs if m is not None]

    @property
    def messages(self) -> list[SentMessage]:
        first = self.message
        return ([first] if first else []) + self.followups

    def _require(self) -> SentMessage:
        msg = self.message
        if msg is None:
            raise NoAnswer(f"no visible response message; {self!r}")
        return msg

    @property
    def content(self) -> str:
        return self._require().content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self._require().embeds

    @property
    def embed(self) -> dict[str, Any] | None:
        return self._require().embed

    @property
    def components(self) -> list[dict[str, Any]]:
        return self._require().components

    @property
    def buttons(self) -> list[str]:
        return self._require().buttons

    @property
    def ephemeral(self) -> bool:
        return self.record.ephemeral or self._require().ephemeral
