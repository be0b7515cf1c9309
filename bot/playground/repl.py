"""Where the playground's lines come from: a script, piped stdin, or a terminal with readline
(history, and Tab completion of commands, options and the bot's autocomplete choices).

Lines are read in a daemon thread so the bot keeps running (heartbeats, background posts)
while the prompt waits, and so a blocked read never keeps the process alive at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Protocol, TextIO, TypeVar

from .render import render_choices
from .session import Session

log = logging.getLogger(__name__)

T = TypeVar("T")
SUGGESTION_TIMEOUT = 5.0


class LineSource(Protocol):
    batch: bool  # True: lines are echoed, and a failed line makes the exit code 1

    async def read(self, prompt: str) -> str | None:
        """The next line, or None at the end."""


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def work() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(settle, future.set_exception, exc)
        else:
            loop.call_soon_threadsafe(settle, future.set_result, result)

    threading.Thread(target=work, name="playground-input", daemon=True).start()
    return await future


class EchoedLines:
    """A script or piped stdin: each line is echoed after the prompt, so the output reads as a
    transcript; `#` comment lines are echoed as they are."""

    batch = True

    def __init__(self, stream: TextIO, out: TextIO, *, threaded: bool) -> None:
        self.stream = stream
        self.out = out
        self.threaded = threaded

    async def read(self, prompt: str) -> str | None:
        while True:
            raw = await in_thread(self.stream.readline) if self.threaded else self.stream.readline()
            if not raw:
                return None
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                print(line, file=self.out)
                continue
            print(prompt + line, file=self.out, flush=True)
            return line


class TerminalLines:
    """A person at a terminal: readline when the platform has it."""

    batch = False

    def __init__(self, session: Session, loop: asyncio.AbstractEventLoop) -> None:
        self.session = session
        self.prompt = ""
        self.readline = _import_readline()
        if self.readline is not None:
            Completer(session, loop, self.readline, lambda: self.prompt).install()

    async def read(self, prompt: str) -> str | None:
        self.prompt = prompt
        try:
            return await in_thread(input, prompt)
        except EOFError:
            print(file=self.session.out)
            return None
        except asyncio.CancelledError:  # Ctrl-C: leave the shell's prompt on a line of its own
            print(file=self.session.out)
            raise


def _import_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return None
    return readline


class Completer:
    """Tab: the whole line is handed to the session's suggestions; readline replaces the text
    after the last `:` (an option's value) or the whole line, and lists the labels."""

    def __init__(self, session: Session, loop: asyncio.AbstractEventLoop, readline: ModuleType,
                 prompt: Callable[[], str]) -> None:
        self.session = session
        self.loop = loop
        self.rl = readline
        self.prompt = prompt
        self.matches: list[str] = []
        self.labels: dict[str, str] = {}
        self.shown = ("", 0)  # the line and cursor when Tab was pressed

    def install(self) -> None:
        rl = self.rl
        rl.set_completer(self.complete)
        rl.set_completer_delims(":")
        if "libedit" in (rl.__doc__ or ""):
            rl.parse_and_bind("bind ^I rl_complete")
        else:
            rl.parse_and_bind("tab: complete")
            rl.parse_and_bind("set show-all-if-ambiguous on")
            rl.set_completion_display_matches_hook(self.display)

    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            self.shown = (self.rl.get_line_buffer(), self.rl.get_endidx())
            self.matches, self.labels = self._compute()
        return self.matches[state] if state < len(self.matches) else None

    def _compute(self) -> tuple[list[str], dict[str, str]]:
        rl = self.rl
        line = rl.get_line_buffer()[:rl.get_endidx()]
        begin = rl.get_begidx()
        try:
            found = asyncio.run_coroutine_threadsafe(
                self.session.suggestions(line), self.loop).result(SUGGESTION_TIMEOUT)
        except Exception:  # a failed Tab must not end the prompt
            log.debug("completion failed for %r", line, exc_info=True)
            return [], {}
        head = line[:begin]
        fitting = [c for c in found.candidates if c.line.startswith(head)]
        listed = render_choices(fitting)
        matches = [c.line[begin:] for c in fitting]
        return matches, dict(zip(matches, listed, strict=True))

    def display(self, substitution: str, matches: list[str], longest: int) -> None:
        # Readline redraws only what changed since the line it last drew (the line as it was
        # when Tab was pressed), from where it left the cursor: draw exactly that again.
        line, cursor = self.shown
        out = sys.stdout
        out.write("\n" + "".join(self.labels.get(m, m) + "\n" for m in matches))
        out.write(self.prompt() + line + "\b" * (len(line) - cursor))
        out.flush()


@contextlib.contextmanager
def terminal_restored(stream: TextIO) -> Iterator[None]:
    """Readline changes the terminal's modes while it reads; if the playground ends while a
    read is pending (Ctrl-C), put them back so the shell still echoes."""
    try:
        import termios

        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def run_lines(session: Session, source: LineSource) -> int:
    """Read and run lines until the end or `quit`. Exit code: 1 if a batch had failures."""
    while True:
        session.poll()
        line = await source.read(session.prompt)
        if line is None or not await session.handle(line):
            break
        if line.strip():
            session.say("")
    await session.finish()  # answers still to come, before the bot stops
    session.poll()
    return 1 if source.batch and session.failures else 0
