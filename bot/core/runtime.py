"""The event loop the bot runs on (EVENT_LOOP): uvloop where it is installed, else asyncio's.

uvloop runs the loop, its sockets and its timers in C. Under the premiere-night burst the bot
spends less CPU per interaction on it (figures in benchmarks/README.md); discord.py, aiohttp and
aiosqlite work on it unchanged. `asyncio` is there to rule the loop out when chasing a problem.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

EVENT_LOOPS = ("auto", "uvloop", "asyncio")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class EventLoopUnavailable(RuntimeError):
    """EVENT_LOOP names a loop that is not installed here."""


def loop_factory(choice: str) -> LoopFactory | None:
    """What makes the loop `choice` asks for (None: asyncio's own). `auto` takes uvloop when it
    is installed (a dependency everywhere but Windows and PyPy, which it does not support)."""
    if choice == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if choice == "uvloop":
            raise EventLoopUnavailable(
                "EVENT_LOOP=uvloop, but uvloop is not installed here (it does not run on "
                "Windows or PyPy): install it, or set EVENT_LOOP=auto") from None
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """'uvloop' or 'asyncio', for `run`'s start-up log line."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T], *, event_loop: str = "auto") -> T:
    """asyncio.run(main) on the loop `event_loop` names."""
    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        return runner.run(main)


def json_problem() -> str | None:
    """What to tell the operator when discord.py parses JSON with orjson, as it does by itself
    whenever orjson is installed: orjson refuses a lone surrogate escape (`\\ud800`) that the
    json module reads, and discord.py's gateway does not survive an event it cannot parse.
    The project does not depend on orjson; something else installed it."""
    import discord.utils  # here: the settings, which import this module, need none of discord

    if not discord.utils.HAS_ORJSON:
        return None
    return ("orjson is installed in the bot's environment, so discord.py parses gateway events "
            "with it, and one event with text orjson refuses (a lone surrogate) stops the "
            "bot's connection: uninstall orjson (pip uninstall orjson)")
