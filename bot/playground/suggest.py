"""What could come next on a partly typed command line: for Tab and for a trailing `?`.

Command, subcommand and option names come from the synced definitions; an option's values
come from its choices, from the emulated server (channels, members, roles), or, for options
with autocomplete, from the bot itself (returned as an AskBot for the caller to send).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .parse import (
    AS_OPTION,
    BOOLEAN,
    CHANNEL,
    MENTIONABLE,
    ROLE,
    TYPE_WORDS,
    USER,
    Definition,
    LineError,
    RawOption,
    convert,
    find_command,
    format_value,
    leaf_options,
    slash_names,
    split_options,
    subcommands,
)

_LAST_WORD = re.compile(r"(\S*)$")


@dataclass(frozen=True)
class Candidate:
    line: str  # the whole line once this candidate is taken
    label: str  # how the candidate is listed
    detail: str = ""  # what it is, listed after the label


@dataclass(frozen=True)
class AskBot:
    """The focused option has autocomplete: only the bot knows the choices."""

    command: str
    options: dict[str, Any]
    focused: str
    partial: str
    prefix: str  # the line up to where the focused value starts
    names: tuple[str, ...]  # the command's option names, to type a value unambiguously

    def candidates(self, choices: Iterable[Mapping[str, Any]]) -> list[Candidate]:
        return [Candidate(self.prefix + format_value(str(c["value"]), self.names), c["name"])
                for c in choices]


@dataclass(frozen=True)
class Suggestions:
    candidates: list[Candidate] = field(default_factory=list)
    note: str | None = None  # what is expected, when there is nothing to list
    ask_bot: AskBot | None = None


@dataclass(frozen=True)
class Directory:
    """Names in the emulated server, offered for channel, member and role options."""

    channels: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


def describe_option(option: Definition) -> str:
    kind = TYPE_WORDS.get(option["type"], "value")
    lo, hi = option.get("min_value"), option.get("max_value")
    if lo is not None or hi is not None:
        kind += f" {'' if lo is None else lo}-{'' if hi is None else hi}"
    if option.get("max_length") is not None:
        kind += f", up to {option['max_length']} characters"
    need = "required" if option.get("required") else "optional"
    text = option.get("description") or ""
    return f"{text} ({kind}, {need})" if text else f"({kind}, {need})"


def suggest(line: str, commands: Sequence[Definition],
            directory: Directory = Directory()) -> Suggestions:
    text = line.lstrip()
    if not text.startswith("/"):
        return Suggestions()
    lead = line[:len(line) - len(text)]
    body = text[1:]
    if " " not in body:
        return Suggestions([
            Candidate(f"{lead}/{c['name']} ", f"/{c['name']}", c.get("description", ""))
            for c in sorted(commands, key=lambda c: c["name"])
            if c.get("type", 1) == 1 and c["name"].startswith(body)
        ], note=None if any(n.startswith(body) for n in slash_names(commands))
            else f"no command starts with /{body}")
    head, _, rest = body.partition(" ")
    node = find_command(commands, head)
    if node is None:
        return Suggestions(note=f"unknown command /{head}")
    path = head
    while subs := subcommands(node):
        word = rest.lstrip()
        if " " not in word:
            before = line[:len(line) - len(word)]
            found = [Candidate(f"{before}{s['name']} ", s["name"], s.get("description", ""))
                     for s in subs if s["name"].startswith(word)]
            return Suggestions(found, None if found else f"/{path} has no {word!r}")
        word, _, rest = word.partition(" ")
        sub = next((s for s in subs if s["name"] == word), None)
        if sub is None:
            return Suggestions(note=f"/{path} has no {word!r}")
        node, path = sub, f"{path} {word}"
    return _suggest_options(line, line[:len(line) - len(rest)], rest, path, node, directory)


def _suggest_options(line: str, base: str, rest: str, path: str, node: Definition,
                     directory: Directory) -> Suggestions:
    declared = {o["name"]: o for o in leaf_options(node)}
    if not declared:
        return Suggestions(note=f"/{path} takes no options: press Enter to run it")
    names = list(declared) + ([AS_OPTION] if AS_OPTION not in declared else [])
    split = split_options(rest, names, lenient=True)
    last_word = _LAST_WORD.search(rest)
    assert last_word is not None  # (\S*)$ matches every string, if only the empty end
    word = last_word.group(1)
    given = {o.name for o in split.options}
    if not split.options:
        if ":" in word:
            return Suggestions(note=f"/{path} has no option {word.split(':')[0]!r}")
        return _option_names(line, word, declared, given)
    last = split.options[-1]
    value_text = rest[last.value_start:]
    if last.quoted and last.closed:
        return _option_names(line, word, declared, given)
    if not last.quoted and last.value:
        starts_option = word and any(n.startswith(word) for n in declared if n not in given)
        if rest[-1:].isspace() or (starts_option and value_text.strip() != word):
            return _option_names(line, word, declared, given)
    prefix = base + rest[:last.value_start]
    if last.name == AS_OPTION and AS_OPTION not in declared:
        return _from_names(prefix, last.value, directory.users, names)
    option = declared[last.name]
    if option.get("autocomplete"):
        others = _lenient_values(split.options[:-1], declared)
        return Suggestions(ask_bot=AskBot(path, others, last.name, last.value, prefix,
                                          tuple(names)))
    if option.get("choices"):
        partial = last.value.casefold()
        return Suggestions([
            Candidate(prefix + format_value(str(c["value"]), names), c["name"])
            for c in option["choices"]
            if partial in c["name"].casefold() or partial in str(c["value"]).casefold()
        ], note=None)
    if option["type"] == BOOLEAN:
        return _from_names(prefix, last.value, ("true", "false"), names)
    pools = {CHANNEL: directory.channels, USER: directory.users, ROLE: directory.roles,
             MENTIONABLE: directory.users + directory.roles}
    if option["type"] in pools:
        return _from_names(prefix, last.value, pools[option["type"]], names)
    return Suggestions(note=f"{last.name}: {describe_option(option)}")


def _option_names(line: str, word: str, declared: Mapping[str, Definition],
                  given: set[str]) -> Suggestions:
    before = line[:len(line) - len(word)]
    if before and not before[-1].isspace():
        before += " "
    found = [Candidate(f"{before}{name}:", f"{name}:", describe_option(option))
             for name, option in declared.items() if name not in given and name.startswith(word)]
    if not found:
        note = ("every option is given: press Enter to run it" if not word
                else f"no option starts with {word!r}")
        return Suggestions(note=note)
    return Suggestions(found)


def _from_names(prefix: str, partial: str, pool: Iterable[str],
                names: Sequence[str]) -> Suggestions:
    wanted = partial.casefold().lstrip("#@")
    return Suggestions([Candidate(prefix + format_value(n, names), n) for n in pool
                        if n.casefold().startswith(wanted)])


def _lenient_values(raws: Iterable[RawOption],
                    declared: Mapping[str, Definition]) -> dict[str, Any]:
    """The other options as far as they are valid: Discord sends what the user has filled in."""
    values: dict[str, Any] = {}
    for raw in raws:
        if raw.name in declared and raw.value:
            try:
                values[raw.name] = convert(declared[raw.name], raw.value)
            except LineError:
                continue
    return values
