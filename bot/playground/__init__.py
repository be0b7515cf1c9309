"""The terminal playground: the real bot, on the local database, against the local Discord
emulator, driven by typing slash commands (`heartstopper-bot playground`)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from bot.core.config import Settings
from bot.playground.harness import BotRunner, emulator_settings
from emulator import EmulatorConfig, UserSpec, default_config
from emulator.config import DEFAULT_APPLICATION_ID
from emulator.testing import running_emulator

from .harness import cancel_handlers
from .repl import EchoedLines, LineSource, TerminalLines, run_lines, terminal_restored
from .session import PENDING_WAIT, Session

EXIT_USAGE = 2
BOT_NAME = "Heartstopper"
# Discord gives a bot 3 s to answer; the emulator enforces that. This is only how long the
# playground waits before saying the bot did not answer at all.
ANSWER_WAIT = 5.0

__all__ = ["run_playground"]


def playground_config(answer_wait: float = ANSWER_WAIT) -> EmulatorConfig:
    """One server with #general and #announcements; its owner, a moderator and a member."""
    config = default_config(guilds=1, application_name=BOT_NAME, answer_timeout=answer_wait,
                            bot=UserSpec(DEFAULT_APPLICATION_ID, BOT_NAME, bot=True))
    config.guilds[0].name = "Playground"
    return config


@contextlib.contextmanager
def quiet_logs(settings: Settings) -> Iterator[None]:
    """Keep INFO lines out of the transcript (DEBUG stays available for debugging), and the
    voice-support warning that does not concern this bot."""
    if settings.log_level == "DEBUG":
        levels = {"": logging.DEBUG}
    else:
        levels = {"": logging.WARNING, "discord.http": logging.WARNING,
                  "discord.client": logging.ERROR}
    saved = {name: logging.getLogger(name).level for name in levels}
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


async def run_playground(settings: Settings, *, script: Path | None = None,
                         out: TextIO | None = None, stdin: TextIO | None = None,
                         answer_wait: float = ANSWER_WAIT,
                         pending_wait: float = PENDING_WAIT) -> int:
    """Run until the script or stdin ends or the person types quit. Returns the exit code:
    0, 1 when a script (or piped stdin) had a failing line or an answer that never came, 2 when
    the script is unreadable. `out` and `stdin` default to the process's streams as they are at
    the call. `answer_wait`: how long a command's first answer is waited for; `pending_wait`:
    how long an answer after "(the bot is thinking…)" is."""
    out = sys.stdout if out is None else out
    stdin = sys.stdin if stdin is None else stdin
    script_text: str | None = None
    if script is not None:
        try:
            script_text = script.read_text(encoding="utf-8")  # noqa: ASYNC240 (small, once)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"heartstopper-bot: cannot read the script {script}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    interactive = script_text is None and _isatty(stdin)
    with quiet_logs(settings), contextlib.ExitStack() as stack:
        if interactive:
            stack.enter_context(terminal_restored(stdin))
        async with running_emulator(playground_config(answer_wait)) as emu:
            runner = BotRunner(emu, dataclasses.replace(
                emulator_settings(settings, emu), dev_guild_id=None, owner_ids=frozenset()))
            await runner.start()
            try:
                session = Session(emu, out, ansi=script_text is None and _isatty(out),
                                  pending_wait=pending_wait)
                source: LineSource
                if script_text is not None:
                    source = EchoedLines(io.StringIO(script_text), out, threaded=False)
                elif interactive:
                    source = TerminalLines(session, asyncio.get_running_loop())
                else:
                    source = EchoedLines(stdin, out, threaded=True)
                if interactive:
                    session.say(banner(settings))
                return await run_lines(session, source)
            finally:
                # A command still working on an answer nobody waits for any more would fail
                # against the stopped emulator (ServerDisconnectedError): end it first.
                await cancel_handlers()
                await runner.stop()


def banner(settings: Settings) -> str:
    return (f"Heartstopper playground: the real bot on a local Discord, database "
            f"{settings.database_path}. Try /character name:Charlie; help lists the commands; "
            "quit leaves.")
