"""What is kept of the text people type and feeds send: everything they meant, nothing that can
hurt.

Kept: zero-width joiners and non-joiners (family emoji, the Pride and trans flags; Persian,
Arabic and Indic words need them), variation selectors, soft hyphens, word joiners, left-to-right
and right-to-left marks, and tag characters inside an emoji flag sequence (England, Scotland,
Wales: a black flag, tags, a cancel tag). Characters newer than this Python's Unicode tables are
kept too (next year's emoji).

Removed: control characters (a newline is kept where the caller allows it, a tab becomes a
space), the bidi embeddings, overrides and isolates that make text display in an order other than
the one it is stored in, tag characters outside a flag (invisible text), and lone surrogates,
which cannot be stored or sent at all (each becomes U+FFFD, so the gap shows).
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"
# Runs on every option of every interaction: a regular expression looks at a string in C.
_SURROGATE = re.compile("[\ud800-\udfff]")
BLACK_FLAG = "\U0001f3f4"
CANCEL_TAG = "\U000e007f"
# LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = ("\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")


def _is_tag(char: str) -> bool:
    return "\U000e0020" <= char <= "\U000e007f"


def _flag_end(text: str, start: int) -> int:
    """If a tag sequence of an emoji flag starts at `start` (just after a black flag), the index
    just past its cancel tag; else `start`."""
    end = start
    while end < len(text) and _is_tag(text[end]) and text[end] != CANCEL_TAG:
        end += 1
    if end > start and end < len(text) and text[end] == CANCEL_TAG:
        return end + 1
    return start


def clean_text(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with only what can hurt removed (see the module's docstring). Line breaks of any
    kind become '\\n' (or a space when `keep_newlines` is False)."""
    for brk in _LINE_BREAKS:
        text = text.replace(brk, "\n")
    kept: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == BLACK_FLAG:
            end = _flag_end(text, i + 1)
            kept.append(text[i:end])
            i = max(end, i + 1)
            continue
        i += 1
        if char == "\n":
            kept.append("\n" if keep_newlines else " ")
        elif char == "\t":
            kept.append(" ")
        elif char in BIDI_CONTROLS or _is_tag(char):
            continue
        else:
            category = unicodedata.category(char)
            if category == "Cc":
                continue
            kept.append(REPLACEMENT if category == "Cs" else char)
    return "".join(kept)


def without_lone_surrogates(text: str) -> str:
    """Only the surrogates replaced: for input that must otherwise stay exactly as sent."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(REPLACEMENT, text)


def visible_length(text: str) -> int:
    """How many characters of `text` show as something: not spaces, not format characters
    (joiners, zero-width spaces), not marks that only modify the character before them. A
    speaker named only '\u200b' has none."""
    return sum(_shows(unicodedata.category(c)) for c in text)


def _shows(category: str) -> bool:
    # Private-use and not-yet-assigned characters (Co, Cn) may well show: keep counting them.
    return category[0] not in "ZM" and category not in ("Cc", "Cf", "Cs")
