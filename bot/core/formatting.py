"""Text that is safe to put in front of Discord: within its limits and unable to ping or break
markdown, whatever the data or a user typed."""

from __future__ import annotations

import re

import discord

# Every embed's colour: one place, so the features' cards match.
BRAND_COLOUR = discord.Colour.from_rgb(233, 116, 160)

ELLIPSIS = "…"

# Discord's limits (see shared notes): a request over any of these is rejected with 50035.
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FOOTER_LIMIT = 2048
EMBED_AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
EMBED_FIELDS_MAX = 25
CHOICE_NAME_LIMIT = 100
CHOICES_MAX = 25
BUTTON_LABEL_LIMIT = 80

_MENTION_LIKE = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")
# Every character discord.py's escape_markdown acts on (its stock pattern: _ \ ~ | * ` anywhere;
# > # - at a line's start; [..](..)): text holding none comes back from it unchanged. Its pattern
# tries a URL at every position, and a card escapes a dozen strings.
_MARKDOWN_CHARS = re.compile(r"[_\\~|*`>#\[-]")
_TRAILING_ESCAPES = re.compile(r"\\+$")


def truncate(text: str, limit: int, *, suffix: str = ELLIPSIS) -> str:
    """Cut `text` to at most `limit` characters, on a word boundary, marking the cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    room = limit - len(suffix)
    if room <= 0:
        return suffix[:limit]
    cut = text[:room]
    space = cut.rfind(" ")
    # Prefer the last whole word unless that throws away most of the text (one giant word).
    if space > room // 2:
        cut = cut[:space]
    cut = cut.rstrip(" ,;:-")
    # An odd run of backslashes at the end would escape our suffix; drop it.
    cut = _TRAILING_ESCAPES.sub("", cut)
    return cut + suffix


def escape(text: str) -> str:
    """Escape markdown and neutralise anything that looks like a mention or a masked link."""
    # discord.py's escape_markdown matches `[..](..)` greedily and escapes only the first
    # bracket, so text holding two links would keep everything between them live. A zero-width
    # space between `]` and `(` means no masked link can form at all.
    text = text.replace("](", "]\u200b(")
    if _MARKDOWN_CHARS.search(text):
        text = discord.utils.escape_markdown(text)
    return neutralise_mentions(text)


def neutralise_mentions(text: str) -> str:
    # A zero-width space after @ stops the client from rendering a ping even where
    # allowed_mentions would already stop the notification.
    return _MENTION_LIKE.sub(lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<#\u200b"),
                             text)


def safe(text: str, limit: int) -> str:
    """Escape first, then truncate, so the limit holds for what is actually sent and a cut can
    never split an escape sequence in two."""
    return truncate(escape(text), limit)


def spoiler(text: str) -> str:
    """Wrap in spoiler bars; bars inside are escaped so they cannot close the spoiler early."""
    return "||" + text.replace("||", "\\|\\|") + "||"


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def duration(seconds: float) -> str:
    """A short human length of time: '45 s', '12 min', '3 h 5 min', '2 days'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def month_label(value: str | None) -> str | None:
    """'2022-04' -> 'April 2022'; '2022-04-22' -> '22 April 2022'; '2022' stays."""
    if not value:
        return None
    months = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
    parts = value.split("-")
    try:
        if len(parts) == 1:
            return parts[0]
        month = months[int(parts[1]) - 1]
        if len(parts) == 2:
            return f"{month} {parts[0]}"
        return f"{int(parts[2])} {month} {parts[0]}"
    except (ValueError, IndexError):
        return value


def fit_blocks(blocks: list[str], budget: int, *, separator: str, more: str) -> str:
    """Join whole blocks while they fit in `budget`, then say how many were left out
    (`more` is the noun: "more feed" -> "…and 3 more feeds.")."""
    kept: list[str] = []
    used = 0
    for shown, block in enumerate(blocks):
        if used + len(block) + len(separator) > budget:
            kept.append(f"…and {plural(len(blocks) - shown, more)}.")
            break
        kept.append(block)
        used += len(block) + len(separator)
    return separator.join(kept)
