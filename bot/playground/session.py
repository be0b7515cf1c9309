"""One playground session: runs each typed line against the emulator as a Discord user would,
and prints what the bot answers, plus anything it posts in channels on its own.

An answer that comes after "(the bot is thinking…)" (a deferred interaction answered later by a
follow-up or an edit) is waited for, up to `pending_wait`, and printed under its line; one still
missing then is printed before a later prompt if it comes, and `finish` waits for those once
more before the playground stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from emulator import Emulator, InteractionResult, InvocationError, NoAnswer, SentMessage
from emulator.results import InteractionRecord

from .parse import Ask, Empty, Invoke, LineError, Meta, Press, SwitchUser, parse_line, split_options
from .render import (
    Names,
    button_text,
    buttons,
    modal_inputs,
    render_button,
    render_choices,
    render_help,
    render_message,
    render_modal,
)
from .suggest import Candidate, Directory, Suggestions, suggest

log = logging.getLogger(__name__)

TEXT_CHANNEL_TYPES = (0, 5)
DEFAULT_USER = "owner"  # the server owner: every permissioned command works
# How long an answer after "thinking" is waited for: longer than the slowest command (a feed's
# first fetch may take its 30 s), far shorter than the 15 minutes Discord would allow.
PENDING_WAIT = 40.0
# A button answered with a deferred update shows nothing until the bot edits the message: how
# long to wait for that edit before saying nothing visible changed.
UPDATE_WAIT = 2.0


@dataclass
class _Pending:
    """An interaction whose answer may still change: what was printed of each message."""

    line: str
    result: InteractionResult
    printed: dict[int, list[str]] = field(default_factory=dict)

    @property
    def record(self) -> InteractionRecord:
        return self.result.record

    @property
    def waiting(self) -> bool:
        """Still "thinking": deferred with a reply to come, nothing refused."""
        return self.record.response_type == 5 and not self.record.answered and not (
            self.record.errors)


def _answered(pending: _Pending) -> bool:
    return not pending.waiting


class Session:
    def __init__(self, emu: Emulator, out: TextIO, *, ansi: bool = False,
                 user: str = DEFAULT_USER, pending_wait: float = PENDING_WAIT,
                 update_wait: float = UPDATE_WAIT) -> None:
        self.emu = emu
        self.out = out
        self.ansi = ansi
        self.user = user
        self.guild = emu.config.guilds[0]
        self.failures = 0
        self._buttons_on: int | None = None  # the last shown message that has buttons
        self._form: InteractionResult | None = None  # a modal waiting to be filled in
        self._seen: set[int] = set()
        self.pending_wait = pending_wait
        self.update_wait = update_wait
        self._late: list[_Pending] = []  # answers not there when their line was done

    # -- what the emulated server holds ---------------------------------------------------------

    @property
    def commands(self) -> list[dict[str, Any]]:
        """What the Discord client would offer here: guild commands shadow global ones."""
        local = self.emu.synced_commands(self.guild.id)
        names = {c["name"] for c in local}
        return local + [c for c in self.emu.synced_commands() if c["name"] not in names]

    @property
    def usernames(self) -> list[str]:
        bot_id = self.emu.config.bot.id
        return [m.user.username for m in self.guild.members if m.user.id != bot_id]

    def directory(self) -> Directory:
        return Directory(
            channels=tuple(c.name for c in self.guild.channels if c.type in TEXT_CHANNEL_TYPES),
            users=tuple(self.usernames),
            roles=tuple(r.name for r in self.emu.world.all_roles(self.guild)),
        )

    def names(self) -> Names:
        world = self.emu.world
        return Names(
            users={u.id: u.global_name or u.username for u in world.users.values()},
            channels={c.id: c.name for c in self.guild.channels},
            roles={r.id: r.name for r in world.all_roles(self.guild)},
        )

    @property
    def prompt(self) -> str:
        return "form> " if self._form is not None else f"{self.user}> "

    # -- output ---------------------------------------------------------------------------------

    def say(self, *lines: str) -> None:
        for line in lines:
            print(line, file=self.out)
        self.out.flush()

    def fail(self, message: str) -> None:
        self.failures += 1
        self.say("error: " + " ".join(str(message).split()))

    def _lines(self, message: SentMessage) -> list[str]:
        return render_message(message.raw, ansi=self.ansi, names=self.names())

    def show(self, message: SentMessage, header: str | None = None) -> None:
        if header:
            self.say(header)
        self.say(*self._lines(message))
        self._seen.add(message.id)
        if buttons(message.raw):
            self._buttons_on = message.id

    def show_result(self, result: InteractionResult,
                    printed: dict[int, list[str]] | None = None) -> None:
        for i, message in enumerate(result.messages):
            if i:
                self.say("")
            self.show(message)
            if printed is not None:
                printed[message.id] = self._lines(message)
        if result.modal is not None:
            self._form = result
            self.say(*render_modal(result.modal))
        for error in result.errors:
            self.failures += 1
            self.say(f"Discord refused the bot's answer: {error.get('code')} "
                     f"{error.get('message', '')}".rstrip())
        if not result.messages and result.modal is None and not result.errors:
            self.say("(nothing visible changed)" if result.type == 6
                     else "(the bot is still thinking…)")

    def poll(self) -> None:
        """Print answers that came late, and what the bot posted on its own (news, daily
        quotes...) since the last look."""
        self._late_answers()
        places: list[tuple[int, str]] = [(c.id, f"#{c.name}") for c in self.guild.channels
                                         if c.type in TEXT_CHANNEL_TYPES]
        users = self.emu.world.users
        places += [(dm.id, f"DM to {users[dm.user_id].username}")
                   for dm in self.emu.world.dm_channels.values() if dm.user_id in users]
        for channel_id, where in places:
            for message in self.emu.channel_messages(channel_id):
                if message.id in self._seen or message.deleted:
                    continue
                author = message.raw.get("author") or {}
                name = author.get("global_name") or author.get("username") or "someone"
                self.show(message, header=f"{where} · {name}:")
                self.say("")

    # -- answers that come later -----------------------------------------------------------------

    async def _answer(self, line: str, result: InteractionResult) -> None:
        """Print an interaction's answer; if the bot is still thinking, wait for the rest."""
        pending = _Pending(line, result)
        if result.record.response_type == 6 and not result.answered and not result.errors:
            # A deferred update: the edit usually follows at once; print it with the answer.
            await self._settle(pending.record, self.update_wait, done=lambda: bool(
                pending.record.answered or pending.record.errors))
        self.show_result(result, pending.printed)
        if not pending.waiting:
            return
        await self._settle(pending.record, self.pending_wait,
                           done=lambda: not pending.waiting)
        for error in result.errors:  # a refused follow-up: the reply that never showed
            self.failures += 1
            self.say(f"Discord refused the bot's answer: {error.get('code')} "
                     f"{error.get('message', '')}".rstrip())
        if pending.waiting:
            self.say(f"(no answer after {self.pending_wait:g} s; it is printed here if it "
                     "comes)")
            self._late.append(pending)
            return
        self._print_changes(pending)

    async def _settle(self, record: InteractionRecord, limit: float, *,
                      done: Callable[[], bool]) -> None:
        """Wait until `done()` or `limit` seconds pass, then for a quiet moment (follow-ups
        right after an answer)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        while not done() and loop.time() < end:
            record.event.clear()
            if done():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(record.event.wait(), end - loop.time())
        if done():
            quiet = self.emu.config.settle
            while quiet > 0:
                record.event.clear()
                try:
                    await asyncio.wait_for(record.event.wait(), quiet)
                except TimeoutError:
                    break

    def _print_changes(self, pending: _Pending, header: str | None = None) -> bool:
        """Print the messages of `pending` that are new or changed since printed."""
        changed = False
        for message in pending.result.messages:
            lines = self._lines(message)
            if pending.printed.get(message.id) == lines:
                continue
            if header and not changed:
                self.say(header)
            elif changed:
                self.say("")
            changed = True
            self.show(message)
            pending.printed[message.id] = lines
        return changed

    def _late_answers(self) -> None:
        """Print answers that came after their line gave up waiting."""
        for pending in list(self._late):
            if not pending.waiting:
                self._print_changes(pending, f"(the answer to {pending.line}:)")
                self.say("")
                self._late.remove(pending)

    @property
    def waiting(self) -> int:
        """How many answers are still to come."""
        return len(self._late)

    async def finish(self) -> None:
        """Before the playground stops: wait (up to `pending_wait`) for answers still to come,
        print them, and say which never came."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.pending_wait
        for pending in list(self._late):
            await self._settle(pending.record, max(0.0, end - loop.time()),
                               done=functools.partial(_answered, pending))
        self._late_answers()
        for pending in self._late:
            self.failures += 1
            self.say(f"(stopped waiting for the answer to {pending.line})")
        self._late.clear()

    # -- input ----------------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Run one line; False when the person asked to leave. Never raises for bad input."""
        try:
            return await self._handle(line)
        except (LineError, InvocationError) as exc:
            self.fail(str(exc))
        except NoAnswer:
            self.fail("the bot did not answer in time (Discord would show 'The application did "
                      "not respond')")
        except Exception as exc:  # a playground bug must not end the session
            log.debug("playground line failed: %r", line, exc_info=True)
            self.fail(f"could not run that line ({type(exc).__name__}: {exc})")
        return True

    async def _handle(self, line: str) -> bool:
        text = line.strip()
        if self._form is not None and not text.startswith("/") and (
                text.casefold() not in ("help", "quit", "exit")):
            await self._fill_form(text)
            return True
        parsed = parse_line(line, self.commands)
        if isinstance(parsed, Invoke | Press):
            self._form = None  # doing something else closes an open form, as in Discord
        if isinstance(parsed, Empty):
            return True
        if isinstance(parsed, Meta):
            if parsed.word == "quit":
                return False
            self.say(*render_help(self.commands, user=self.user, users=self.usernames))
        elif isinstance(parsed, SwitchUser):
            self.user = self._member(parsed.name)
            self.say(f"(now running commands as {self.user})")
        elif isinstance(parsed, Ask):
            found = await self.suggestions(parsed.line)
            self.say(*render_choices(found.candidates, found.note))
        elif isinstance(parsed, Invoke):
            user = self._member(parsed.user) if parsed.user else self.user
            await self._answer(line.strip(), await self.emu.invoke(
                parsed.command, parsed.options, guild_id=self.guild.id, user=user))
        elif isinstance(parsed, Press):
            await self._press(parsed)
        return True

    def _member(self, name: str) -> str:
        for username in self.usernames:
            if username.casefold() == name.casefold():
                return username
        raise LineError(f"no member named {name!r}; members: {', '.join(self.usernames)}")

    def _button_message(self) -> SentMessage | None:
        if self._buttons_on is None:
            return None
        message = self.emu.message(self._buttons_on)
        return None if message.deleted else message

    async def _press(self, press: Press) -> None:
        message = self._button_message()
        found = self._find_button(message, press.label) if message is not None else None
        if found is None:
            listed = " ".join(render_button(b) for b in buttons(message.raw)) if message else ""
            if press.bracketed:
                where = f"; buttons: {listed}" if listed else ": the last replies had none"
                raise LineError(f"no button [{press.label}] to press{where}")
            hint = f"; or press a button: {listed}" if listed else ""
            raise LineError(f"{press.label!r} is not a command: commands start with / "
                            f"(help lists them){hint}")
        assert message is not None
        if found.get("url"):
            self.say(f"[{button_text(found)}] opens {found['url']}")
            return
        if found.get("disabled"):
            raise LineError(f"[{button_text(found)}] is disabled")
        await self._answer(f"[{button_text(found)}]", await self.emu.press(
            message, custom_id=found["custom_id"], user=self.user))

    @staticmethod
    def _find_button(message: SentMessage, label: str) -> Mapping[str, Any] | None:
        wanted = label.casefold()
        for button in buttons(message.raw):
            texts = {button_text(button).casefold(), (button.get("label") or "").casefold()}
            if wanted in texts:
                return button
        return None

    async def _fill_form(self, text: str) -> None:
        opened = self._form
        assert opened is not None and opened.modal is not None
        if not text:
            return
        if text.casefold() == "cancel":
            self._form = None
            self.say("(form closed without sending)")
            return
        inputs = modal_inputs(opened.modal)
        split = split_options(text, inputs)
        if split.lead:
            raise LineError(f"fill the form in as {' '.join(f'{k}:…' for k in inputs)}, "
                            "or type cancel")
        values = {inputs[o.name]["custom_id"]: o.value for o in split.options}
        self._form = None
        await self._answer("the form", await self.emu.submit_modal(opened, values))

    # -- suggestions ----------------------------------------------------------------------------

    async def suggestions(self, line: str) -> Suggestions:
        """What fits at the end of `line`, asking the bot when the option has autocomplete."""
        if not line.lstrip().startswith("/"):
            return Suggestions(self._plain_candidates(line))
        found = suggest(line, self.commands, self.directory())
        ask = found.ask_bot
        if ask is None:
            return found
        choices = await self.emu.autocomplete(
            ask.command, {**ask.options, ask.focused: ask.partial}, focused=ask.focused,
            guild_id=self.guild.id, user=self.user)
        return Suggestions(ask.candidates(choices), None if choices else "(no suggestions)")

    def _plain_candidates(self, line: str) -> list[Candidate]:
        typed = line.strip().casefold()
        words = ["help", "quit"] + [f"as {u}" for u in self.usernames]
        message = self._button_message()
        labels = [f"[{button_text(b)}]" for b in buttons(message.raw)] if message else []
        return [Candidate(w, w) for w in ["/", *labels, *words]
                if w.casefold().startswith(typed)]
