"""The playground's command-line syntax, read against the commands the bot actually synced.

`/quote random person:Kit Connor season:2`: subcommands are the words after the command name;
an option's value runs until the next ` name:` of an option that command declares, so values
may hold spaces without quotes (quote a value, "like this", when it must hold such a token or
end in `?`). A trailing `?` asks for suggestions instead of running the command.

Everything here is pure: definitions in, a parsed line or a LineError (a one-line message for
the person at the terminal) out.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Definition = Mapping[str, Any]

SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3, 4, 5, 6, 7, 8, 9, 10, 11)
TYPE_WORDS = {STRING: "text", INTEGER: "whole number", BOOLEAN: "true or false",
              USER: "member", CHANNEL: "channel", ROLE: "role", MENTIONABLE: "member or role",
              NUMBER: "number", ATTACHMENT: "file name"}

AS_OPTION = "as"  # `as:moderator` on a command line: run that one line as someone else

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_INTEGER = re.compile(r"[+-]?\d+")
_UNKNOWN_OPTION = re.compile(r"(?<!\S)([-\w]+):(?=\S)")


class LineError(ValueError):
    """A line the playground cannot run; the message says what was wrong and what to do."""


# ---- what a line can be ---------------------------------------------------------------------

@dataclass(frozen=True)
class Invoke:
    command: str  # "quote random" for a subcommand
    options: dict[str, Any]
    user: str | None = None  # `as:NAME`; None: the session's current user


@dataclass(frozen=True)
class Ask:
    """A line ending in `?`: show what could come next."""

    line: str  # the line without its `?`


@dataclass(frozen=True)
class Press:
    label: str
    bracketed: bool  # `[Next]`: surely a button; `Next`: a button only if one matches


@dataclass(frozen=True)
class SwitchUser:
    name: str


@dataclass(frozen=True)
class Meta:
    word: str  # "help" or "quit"


@dataclass(frozen=True)
class Empty:
    pass


Line = Invoke | Ask | Press | SwitchUser | Meta | Empty


# ---- walking the definitions ----------------------------------------------------------------

def find_command(commands: Sequence[Definition], name: str) -> Definition | None:
    return next((c for c in commands if c.get("type", 1) == 1 and c["name"] == name), None)


def subcommands(node: Definition) -> list[Definition]:
    return [o for o in node.get("options") or [] if o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP)]


def leaf_options(node: Definition) -> list[Definition]:
    return [o for o in node.get("options") or [] if o["type"] not in (SUBCOMMAND,
                                                                        SUBCOMMAND_GROUP)]


def slash_names(commands: Sequence[Definition]) -> list[str]:
    return sorted(c["name"] for c in commands if c.get("type", 1) == 1)


def command_paths(commands: Sequence[Definition]) -> list[tuple[str, Definition]]:
    """Every runnable path ("quote daily set") with its leaf definition, sorted."""
    paths: list[tuple[str, Definition]] = []

    def walk(prefix: str, node: Definition) -> None:
        subs = subcommands(node)
        if not subs:
            paths.append((prefix, node))
        for sub in subs:
            walk(f"{prefix} {sub['name']}", sub)

    for cmd in commands:
        if cmd.get("type", 1) == 1:
            walk(cmd["name"], cmd)
    return sorted(paths, key=lambda p: p[0])


@dataclass(frozen=True)
class Target:
    """A command line resolved down to the command (or subcommand) that takes the options."""

    path: str
    node: Definition
    rest: str  # the text after the path: the options


def resolve_target(text: str, commands: Sequence[Definition]) -> Target:
    """`text` without its leading slash."""
    head, _, rest = text.strip().partition(" ")
    if not head:
        raise LineError("type a command after the slash, e.g. /about (help lists them)")
    node = find_command(commands, head)
    if node is None:
        raise LineError(f"unknown command /{head}{_did_you_mean(head, slash_names(commands))}; "
                        f"commands: {', '.join('/' + n for n in slash_names(commands))}")
    path = head
    while subs := subcommands(node):
        word, _, after = rest.strip().partition(" ")
        names = [s["name"] for s in subs]
        if not word or ":" in word:
            raise LineError(f"/{path} needs one of: {', '.join(names)} (e.g. /{path} {names[0]})")
        sub = next((s for s in subs if s["name"] == word), None)
        if sub is None:
            raise LineError(f"/{path} has no {word!r}{_did_you_mean(word, names)}; "
                            f"it has: {', '.join(names)}")
        node, path, rest = sub, f"{path} {word}", after
    return Target(path, node, rest)


def _did_you_mean(word: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# ---- options --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RawOption:
    name: str
    value: str  # as typed, quotes removed
    start: int  # where `name:` starts in the options text
    value_start: int
    quoted: bool = False
    closed: bool = True  # False: a quote was opened and not closed (only while typing)


@dataclass(frozen=True)
class SplitOptions:
    lead: str  # text before the first option: should be empty
    options: list[RawOption] = field(default_factory=list)


def _option_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.compile(rf"(?<!\S)({alternatives}):")


def split_options(text: str, names: Iterable[str], *, lenient: bool = False) -> SplitOptions:
    """Cut `text` at each ` name:` of a known option. `lenient` (for suggestions while typing)
    accepts an unclosed quote instead of raising."""
    names = list(names)
    if not names:
        return SplitOptions(text.strip())
    pattern = _option_pattern(names)
    match = pattern.search(text)
    if match is None:
        return SplitOptions(text.strip())
    lead = text[:match.start()].strip()
    found: list[RawOption] = []
    while match is not None:
        name, vstart = match.group(1), match.end()
        if text[vstart:vstart + 1] in ('"', "'"):
            end = _closing_quote(text, vstart)
            if end is None:
                if not lenient:
                    raise LineError(f"{name}: the quote opened here is never closed")
                found.append(RawOption(name, _unescape(text[vstart + 1:]), match.start(), vstart,
                                       quoted=True, closed=False))
                break
            found.append(RawOption(name, _unescape(text[vstart + 1:end]), match.start(), vstart,
                                   quoted=True))
            match = pattern.search(text, end + 1)
            between = text[end + 1:match.start() if match else len(text)]
            if between.strip() and not lenient:
                raise LineError(f"{name}: unexpected {between.strip()!r} after the closing quote")
        else:
            nxt = pattern.search(text, vstart)
            value = text[vstart:nxt.start() if nxt else len(text)]
            found.append(RawOption(name, value.strip(), match.start(), vstart))
            match = nxt
    return SplitOptions(lead, found)


def _closing_quote(text: str, start: int) -> int | None:
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote and (i + 1 == len(text) or text[i + 1].isspace()):
            return i
        i += 1
    return None


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def format_value(value: str, names: Iterable[str] = ()) -> str:
    """A value as it must be typed to read back as itself."""
    names = list(names)
    risky = (not value or value != value.strip() or value[0] in "\"'" or value.endswith("?")
             or (names and _option_pattern(names).search(value) is not None))
    if not risky:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def convert(option: Definition, raw: str) -> Any:
    """A typed value as the Discord client would send it for this option's type."""
    name, otype = option["name"], option["type"]
    choices = option.get("choices") or []
    for choice in choices:  # the client sends a choice's value whichever way it was picked
        if raw.casefold() in (str(choice["value"]).casefold(), choice["name"].casefold()):
            return choice["value"]
    if choices:
        listed = ", ".join(str(c["value"]) for c in choices)
        raise LineError(f"{name}: {raw!r} is not one of the choices: {listed}")
    if otype == INTEGER:
        if not _INTEGER.fullmatch(raw):
            raise LineError(f"{name}: expected a whole number, got {raw!r}")
        return int(raw)
    if otype == NUMBER:
        try:
            return int(raw) if _INTEGER.fullmatch(raw) else float(raw)
        except ValueError:
            raise LineError(f"{name}: expected a number, got {raw!r}") from None
    if otype == BOOLEAN:
        word = raw.casefold()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise LineError(f"{name}: expected true or false, got {raw!r}")
    if otype == CHANNEL:
        raw = raw.removeprefix("#")
        return int(raw) if raw.isdigit() else raw
    if otype in (USER, ROLE, MENTIONABLE):
        return raw.removeprefix("@")
    return raw


def parse_options(target: Target) -> tuple[dict[str, Any], str | None]:
    """The converted options of a command line, and its `as:` user if any."""
    declared = {o["name"]: o for o in leaf_options(target.node)}
    names = list(declared) + ([AS_OPTION] if AS_OPTION not in declared else [])
    split = split_options(target.rest, names)
    if split.lead:
        raise LineError(_lead_problem(target, split.lead, list(declared)))
    values: dict[str, Any] = {}
    user: str | None = None
    for raw in split.options:
        if raw.name in values or (raw.name == AS_OPTION and user is not None):
            raise LineError(f"{raw.name}: given twice")
        if raw.name == AS_OPTION and AS_OPTION not in declared:
            if not raw.value:
                raise LineError("as: name who runs the command, e.g. as:moderator")
            user = raw.value
            continue
        if not raw.quoted:
            _check_typo(target, raw, declared, values)
        values[raw.name] = convert(declared[raw.name], raw.value)
    missing = [n for n, o in declared.items() if o.get("required") and n not in values]
    if missing:
        wanted = " ".join(f"{n}:…" for n in missing)
        raise LineError(f"/{target.path} needs {wanted} (type /{target.path} ? to see its "
                        "options)")
    return values, user


def _lead_problem(target: Target, lead: str, names: list[str]) -> str:
    if not names:
        return f"/{target.path} takes no options, got {lead!r}"
    unknown = _UNKNOWN_OPTION.search(lead) or re.match(r"([-\w]+):", lead)
    listed = ", ".join(f"{n}:" for n in names)
    if unknown:
        word = unknown.group(1)
        return (f"/{target.path} has no option {word!r}{_did_you_mean(word, names)}; "
                f"its options: {listed}")
    return f"{lead!r} is not an option of /{target.path}: write name:value ({listed})"


def _check_typo(target: Target, raw: RawOption, declared: Mapping[str, Definition],
                given: Mapping[str, Any]) -> None:
    """`person:Kit sesaon:2` would otherwise send "Kit sesaon:2" as the person."""
    unused = [n for n in declared if n not in given and n != raw.name]
    for match in _UNKNOWN_OPTION.finditer(raw.value):
        word = match.group(1)
        close = difflib.get_close_matches(word, unused, n=1, cutoff=0.75)
        if close:
            raise LineError(f"/{target.path} has no option {word!r} (did you mean {close[0]}?); "
                            f"quote the value of {raw.name}: if it really contains {word}:")


# ---- a whole line ---------------------------------------------------------------------------

def parse_line(line: str, commands: Sequence[Definition]) -> Line:
    text = line.strip()
    if not text or text.startswith("#"):
        return Empty()
    word = text.casefold()
    if word.startswith("/") and find_command(commands, word[1:]) is None:
        word = word[1:]  # `/help`, `/quit`: the bot's own commands of those names win
    if word in ("help", "?"):
        return Meta("help")
    if word in ("quit", "exit"):
        return Meta("quit")
    if word.startswith(("as ", "/as ")) and find_command(commands, "as") is None:
        return SwitchUser(text.split(None, 1)[1].strip().removeprefix("@"))
    if text.endswith("?") and text.startswith("/"):
        return Ask(text[:-1])
    if text.startswith("/"):
        target = resolve_target(text[1:], commands)
        options, user = parse_options(target)
        return Invoke(target.path, options, user)
    if text.startswith("[") and text.endswith("]"):
        return Press(text[1:-1].strip(), bracketed=True)
    return Press(text, bracketed=False)
