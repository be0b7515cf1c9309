"""Messages as a person would read them in a terminal: pure functions from Discord's message
payloads (plain dicts, as the emulator stores them) to lines of text.

Markdown is shown the way Discord's client would show it: escapes removed, bold/italic as ANSI
styles when `ansi` is on (a TTY) and as plain words otherwise, spoilers as `[spoiler: ...]`,
mentions and timestamps as names and dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .parse import Definition, command_paths, leaf_options
from .suggest import Candidate

EPHEMERAL_NOTE = "(only you can see this)"
BAR = "│ "

BUTTON, STRING_SELECT, TEXT_INPUT, TEXT_DISPLAY = 2, 3, 4, 10
ENTITY_SELECTS = {5: "member", 6: "role", 7: "member or role", 8: "channel"}
LINK_STYLE = 5
MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7

_STYLES = {"bold": ("\x1b[1m", "\x1b[22m"), "italic": ("\x1b[3m", "\x1b[23m"),
           "underline": ("\x1b[4m", "\x1b[24m"), "strike": ("\x1b[9m", "\x1b[29m"),
           "dim": ("\x1b[2m", "\x1b[22m")}

_ESCAPED = re.compile(r"\\([^\sA-Za-z0-9])")
# Code, kept exactly as written (Discord styles nothing inside it, escapes included): a fenced
# block, or a span between runs of as many backticks.
_CODE = re.compile(r"(```.*?```|(`+)(?!`).+?(?<!`)\2(?!`))", re.S)
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_SPOILER = re.compile(r"\|\|(.+?)\|\|", re.S)
_LINK = re.compile(r"\[([^\]\n]+)\]\(<?(https?://[^)>\s]+)>?\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_UNDERLINE = re.compile(r"__(.+?)__", re.S)
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", re.S)
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", re.S)
_STRIKE = re.compile(r"~~(.+?)~~", re.S)
_HEADING = re.compile(r"^#{1,3} (.+)$", re.M)
_SUBTEXT = re.compile(r"^-# (.+)$", re.M)
_USER = re.compile(r"<@!?(\d+)>")
_ROLE = re.compile(r"<@&(\d+)>")
_CHANNEL = re.compile(r"<#(\d+)>")
_EMOJI = re.compile(r"<a?:(\w+):\d+>")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")


@dataclass(frozen=True)
class Names:
    """Who and what the ids in mentions are, in the emulated server."""

    users: Mapping[int, str] = field(default_factory=dict)
    channels: Mapping[int, str] = field(default_factory=dict)
    roles: Mapping[int, str] = field(default_factory=dict)


NO_NAMES = Names()


def style(text: str, kind: str, ansi: bool) -> str:
    if not ansi or not text:
        return text
    on, off = _STYLES[kind]
    return f"{on}{text}{off}"


def markdown(text: str, *, ansi: bool = False, names: Names = NO_NAMES) -> str:
    """Discord markdown as read on screen."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(1))
        return f"\x00{len(kept) - 1}\x00"

    text = _CODE.sub(keep, text)  # `a*b*` is code, never a style
    text = _ESCAPED.sub(keep, text)  # `\*` is a star, never a style
    text = _SPOILER.sub(lambda m: f"[spoiler: {m.group(1)}]", text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _BOLD.sub(lambda m: style(m.group(1), "bold", ansi), text)
    text = _UNDERLINE.sub(lambda m: style(m.group(1), "underline", ansi), text)
    text = _ITALIC_STAR.sub(lambda m: style(m.group(1), "italic", ansi), text)
    text = _ITALIC_UNDERSCORE.sub(lambda m: style(m.group(1), "italic", ansi), text)
    if ansi:  # struck-out words must stay marked when styles are off
        text = _STRIKE.sub(lambda m: style(m.group(1), "strike", ansi), text)
    text = _HEADING.sub(lambda m: style(m.group(1), "bold", ansi), text)
    text = _SUBTEXT.sub(lambda m: style(m.group(1), "dim", ansi), text)
    text = _USER.sub(lambda m: "@" + names.users.get(int(m.group(1)), m.group(1)), text)
    text = _ROLE.sub(lambda m: "@" + names.roles.get(int(m.group(1)), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + names.channels.get(int(m.group(1)), m.group(1)), text)
    text = _EMOJI.sub(lambda m: f":{m.group(1)}:", text)
    text = _TIMESTAMP.sub(lambda m: _timestamp(int(m.group(1)), m.group(2)), text)
    return _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)


def _timestamp(seconds: int, kind: str | None) -> str:
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return str(seconds)
    if kind in ("d", "D"):
        return moment.strftime("%Y-%m-%d")
    if kind in ("t", "T"):
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _block(text: str, ansi: bool, names: Names) -> list[str]:
    return markdown(text, ansi=ansi, names=names).split("\n")


def render_embed(embed: Mapping[str, Any], *, ansi: bool = False,
                 names: Names = NO_NAMES) -> list[str]:
    lines: list[str] = []
    author = embed.get("author") or {}
    if author.get("name"):
        lines.append(markdown(author["name"], names=names) + (
            f" ({author['url']})" if author.get("url") else ""))
    if embed.get("title"):
        lines.append(style(markdown(embed["title"], names=names), "bold", ansi))
    if embed.get("url"):
        lines.append(embed["url"])
    if embed.get("description"):
        lines.extend(_block(embed["description"], ansi, names))
    for item in embed.get("fields") or []:
        name = markdown(item.get("name") or "", names=names).strip("\u200b ").strip()
        value = _block(item.get("value") or "", ansi, names)
        first = f"{style(name, 'bold', ansi)}: {value[0]}" if name else value[0]
        lines.append(first)
        lines.extend("  " + more for more in value[1:])
    for key in ("image", "thumbnail", "video"):
        url = (embed.get(key) or {}).get("url")
        if url:
            lines.append(f"{key}: {url}")
    footer = (embed.get("footer") or {}).get("text")
    stamp = embed.get("timestamp")
    tail = " · ".join(part for part in (footer, _iso_date(stamp)) if part)
    if tail:
        lines.append(style(markdown(tail, names=names), "dim", ansi))
    return [BAR + line if line else BAR.rstrip() for line in lines]


def _iso_date(stamp: str | None) -> str | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return stamp


def walk(components: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for component in components or []:
        yield component
        yield from walk(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), Mapping):
                yield from walk([component[key]])


def buttons(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in walk(message.get("components") or []) if c.get("type") == BUTTON]


def button_text(button: Mapping[str, Any]) -> str:
    """What a button reads as: its label, else its emoji."""
    emoji = button.get("emoji") or {}
    emoji_text = emoji.get("name") if not emoji.get("id") else f":{emoji.get('name')}:"
    return " ".join(part for part in (emoji_text, button.get("label")) if part) or "?"


def render_button(button: Mapping[str, Any]) -> str:
    text = button_text(button)
    if button.get("style") == LINK_STYLE and button.get("url"):
        text += f" -> {button['url']}"
    if button.get("disabled"):
        text += " (disabled)"
    return f"[{text}]"


def render_select(select: Mapping[str, Any]) -> str:
    placeholder = select.get("placeholder") or "choose"
    if select.get("type") == STRING_SELECT:
        options = " | ".join(o.get("label", "") for o in select.get("options") or [])
        text = f"<{placeholder}: {options}>"
    else:
        text = f"<{placeholder}: any {ENTITY_SELECTS.get(select.get('type', 0), 'item')}>"
    return text + (" (disabled)" if select.get("disabled") else "")


def render_components(components: Sequence[Mapping[str, Any]], *, ansi: bool = False,
                      names: Names = NO_NAMES) -> list[str]:
    lines: list[str] = []
    for component in walk(components):
        kind = component.get("type")
        if kind == 1:
            row = [render_button(c) if c.get("type") == BUTTON else render_select(c)
                   for c in component.get("components") or []]
            if row:
                lines.append(" ".join(row))
        elif kind == TEXT_DISPLAY:
            lines.extend(_block(component.get("content") or "", ansi, names))
    return lines


def render_message(message: Mapping[str, Any], *, ansi: bool = False,
                   names: Names = NO_NAMES) -> list[str]:
    """One message: ephemeral note, content, embeds, attachments, then its components."""
    flags = int(message.get("flags") or 0)
    lines: list[str] = []
    if flags & MESSAGE_FLAG_EPHEMERAL:
        lines.append(style(EPHEMERAL_NOTE, "dim", ansi))
    if flags & MESSAGE_FLAG_LOADING:
        lines.append("(the bot is thinking…)")
    if message.get("content"):
        lines.extend(_block(message["content"], ansi, names))
    for embed in message.get("embeds") or []:
        lines.extend(render_embed(embed, ansi=ansi, names=names))
    for attachment in message.get("attachments") or []:
        lines.append(f"attachment: {attachment.get('filename')} ({attachment.get('url', '')})")
    lines.extend(render_components(message.get("components") or [], ansi=ansi, names=names))
    return lines


def render_modal(modal: Mapping[str, Any]) -> list[str]:
    """A form the bot opened, and how to fill it in."""
    lines = [f"form: {modal.get('title', '')}"]
    for key, text_input in modal_inputs(modal).items():
        need = "required" if text_input.get("required", True) else "optional"
        limit = text_input.get("max_length")
        more = f", up to {limit} characters" if limit else ""
        lines.append(f"  {key}: {text_input.get('label', '')} ({need}{more})")
    example = " ".join(f'{key}:"…"' for key in modal_inputs(modal))
    lines.append(f"fill it in with: {example}   (or: cancel)")
    return lines


def modal_inputs(modal: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A form's text inputs by a short name to type: the first word of each label."""
    found: dict[str, Mapping[str, Any]] = {}
    for component in walk(modal.get("components") or []):
        if component.get("type") != TEXT_INPUT:
            continue
        words = re.findall(r"\w+", (component.get("label") or "").casefold())
        key = words[0] if words else "field"
        while key in found:
            key += "_"
        found[key] = component
    return found


def render_choices(candidates: Sequence[Candidate], note: str | None = None) -> list[str]:
    """Suggestions as a list: labels in a column, then what each is."""
    if not candidates:
        return ["  " + (note or "(no suggestions)")]
    width = max((len(c.label) for c in candidates if c.detail), default=0)
    return [f"  {c.label:<{width}}  {c.detail}" if c.detail else f"  {c.label}"
            for c in candidates]


def render_help(commands: Sequence[Definition], *, user: str, users: Sequence[str]) -> list[str]:
    lines = ["Type a slash command as in Discord; options are name:value, e.g.",
             "  /character name:Charlie        /quote random person:Kit Connor season:2",
             "  /character name:ki?            (a trailing ? or Tab lists what fits)",
             "  [Next] or Next                 presses a button of the last reply",
             f"  as moderator                   run as someone else ({', '.join(users)}); "
             f"now: {user}",
             "  ... as:member                  run one command as someone else",
             "  help, quit (or Ctrl-D)",
             "Commands:"]
    for path, node in command_paths(commands):
        options = " ".join(f"{o['name']}:" if o.get("required") else f"[{o['name']}:]"
                           for o in leaf_options(node))
        lines.append(f"  /{path} {options}".rstrip() + f"  - {node.get('description', '')}")
    return lines

