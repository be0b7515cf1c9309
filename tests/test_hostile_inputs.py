"""Every command, with hostile text in every text option, answers without "Something went
wrong": long text, control characters, lone surrogates, mention and markdown syntax, full-text
search syntax. The real bot, through the emulator, which also checks every reply against
Discord's limits and rules (its `errors`)."""

from __future__ import annotations

from typing import Any

from emulator.errors import InvocationError
from tests.conftest import Harness

HOSTILE = [
    "@everyone @here <@&1> <@1> <#1>",
    "**bold** __under__ ||spoiler|| `code` [link](https://evil.example) # heading\n> quote",
    "\u202eevil\u0000\u0007\u001b[31m red",
    "\ud83d lone \udc00 surrogates",
    'NEAR("a" b) OR c* AND ( NOT ) col:x ^ * "unterminated',
    "x" * 6000,
    "   ",
    "🏳️‍🌈👨‍❤️‍👨🏴󠁧󠁢󠁥󠁮󠁧󠁿",
    "%s %d {0} ${x} '; DROP TABLE quotes; --",
    "https://127.0.0.1:9/feed?token=secret",
]
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE = 3, 4, 5, 6, 7, 8
BROKE = "Something went wrong"


def leaves(commands: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Every runnable command path ("quote daily set") with its options."""
    found = []

    def walk(prefix: str, options: list[dict[str, Any]]) -> None:
        subs = [o for o in options if o.get("type") in (1, 2)]
        if not subs:
            found.append((prefix, options))
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub.get("options") or [])

    for command in commands:
        if command.get("type", 1) == 1:
            walk(command["name"], command.get("options") or [])
    return found


def fill(option: dict[str, Any], text: str, h: Harness) -> Any:
    kind = option["type"]
    if option.get("choices"):  # Discord sends only one of them, whatever was typed
        return option["choices"][0]["value"]
    if kind == STRING:
        longest = int(option.get("max_length") or 6000)
        value = text[:longest]
        shortest = int(option.get("min_length") or 0)
        return value + "x" * max(0, shortest - len(value))
    if kind == INTEGER:
        return int(option.get("min_value") or 1)
    if kind == BOOLEAN:
        return True
    if kind == CHANNEL:
        return h.channel_id("general")
    if kind == ROLE:
        return h.guild_id
    if kind == USER:
        return h.emu.config.guilds[0].member("member").user.id
    raise AssertionError(f"an option type this test does not know: {kind}")


async def test_every_command_survives_hostile_text(harness: Harness) -> None:
    h, emu = harness, harness.emu
    commands = leaves(emu.synced_commands())
    assert len(commands) > 20
    answered = 0
    for path, options in commands:
        strings = [o for o in options if o["type"] == STRING]
        for text in HOSTILE if strings else HOSTILE[:1]:
            values = {o["name"]: fill(o, text, h) for o in options}
            for user in ("owner", "member"):
                try:
                    result = await emu.invoke(path, values, guild_id=h.guild_id, user=user)
                except InvocationError as exc:
                    # Discord itself would not offer it (default member permissions): fine.
                    assert "cannot see" in str(exc), exc
                    continue
                where = f"/{path} as {user} with {text[:40]!r}"
                assert result.errors == [], where
                assert BROKE not in (result.content or ""), where
                assert BROKE not in str(result.embed or ""), where
                answered += 1
            for option in options:
                if option.get("autocomplete"):
                    await emu.autocomplete(path, values, focused=option["name"],
                                           guild_id=h.guild_id, user="member")
    assert answered > 150
