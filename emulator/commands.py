"""Synced application commands, as Discord stores them after a bulk overwrite.

Interactions are built from these stored definitions (not from the bot's Python objects), so
a test can only invoke what the bot actually registered, with the option types it declared.
"""

from __future__ import annotations

import builtins
import copy
from typing import Any

from .clock import Snowflakes


class CommandRegistry:
    def __init__(self, application_id: int, ids: Snowflakes) -> None:
        self.application_id = application_id
        self.ids = ids
        # None: global; otherwise the guild id.
        self._lists: dict[int | None, list[dict[str, Any]]] = {}

    def _store(
        self, guild_id: int | None, definition: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        cmd = copy.deepcopy(definition)
        cmd["type"] = int(cmd.get("type") or 1)
        # Discord keeps a command's id across overwrites when name and type match.
        cmd["id"] = previous["id"] if previous else str(self.ids.next())
        cmd["application_id"] = str(self.application_id)
        cmd["version"] = str(self.ids.next())
        cmd.setdefault("description", "")
        cmd.setdefault("options", [])
        perms = cmd.get("default_member_permissions")
        cmd["default_member_permissions"] = None if perms is None else str(perms)
        cmd.setdefault("nsfw", False)
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        return cmd

    def overwrite(
        self, guild_id: int | None, definitions: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        old = {(c["type"], c["name"]): c for c in self._lists.get(guild_id, [])}
        stored = [
            self._store(guild_id, d, old.get((int(d.get("type") or 1), d["name"])))
            for d in definitions
        ]
        self._lists[guild_id] = stored
        return copy.deepcopy(stored)

    def upsert(self, guild_id: int | None, definition: dict[str, Any]) -> dict[str, Any]:
        current = self._lists.setdefault(guild_id, [])
        key = (int(definition.get("type") or 1), definition["name"])
        for i, cmd in enumerate(current):
            if (cmd["type"], cmd["name"]) == key:
                current[i] = self._store(guild_id, definition, cmd)
                return copy.deepcopy(current[i])
        current.append(self._store(guild_id, definition, None))
        return copy.deepcopy(current[-1])

    def list(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return copy.deepcopy(self._lists.get(guild_id, []))

    def find(self, name: str, guild_id: int | None, command_type: int = 1) -> dict[str, Any] | None:
        """Guild commands shadow global ones of the same name, as in the Discord client."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self._lists.get(scope, []):
                if cmd["name"] == name and cmd["type"] == command_type:
                    return cmd
        return None

    # builtins.list: in this class's body `list` is the method above.
    def names(self, guild_id: int | None, command_type: int = 1) -> builtins.list[str]:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        return sorted(
            {c["name"] for s in scopes for c in self._lists.get(s, []) if c["type"] == command_type}
        )
