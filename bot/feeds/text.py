"""Feed text to plain text: HTML tags dropped (script and style with their contents), entities
decoded, whitespace tidied, length capped. Escaping for Discord is the renderer's job; this only
makes sure what is stored is words, not markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.core.formatting import truncate
from bot.core.text import clean_text

TITLE_LIMIT = 256
BODY_LIMIT = 2000
# A feed may put a whole article in its summary: never collect more than this much text.
_COLLECT_LIMIT = 20_000
_BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                     "blockquote", "pre", "tr", "table", "section", "article", "figure",
                     "figcaption", "hr", "header", "footer"})
_SKIPPED = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg",
                      "head", "title"})
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")
# HTML's own whitespace: a line break in the source is a space on the page (outside <pre>), so
# a hard-wrapped paragraph must not become Discord line breaks mid-sentence.
_HTML_WHITESPACE = re.compile(r"[ \t\n\r\f]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.size = 0
        self._skipping = 0
        self._preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self._add("\n")
        if tag == "pre":
            self._preformatted += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._preformatted = max(0, self._preformatted - 1)
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._add(data if self._preformatted else _HTML_WHITESPACE.sub(" ", data))

    def _add(self, text: str) -> None:
        if self.size < _COLLECT_LIMIT:
            self.parts.append(text)
            self.size += len(text)


def _tidy(text: str) -> str:
    # Only what can hurt goes (bot.text): a headline's Pride flag keeps its joiner.
    text = clean_text(text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    tidy = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    # '[text](url)' in a feed must never become a masked link in a post. discord.py's
    # escape_markdown matches '[...](...)' greedily across the whole text and escapes only its
    # first bracket, so text with two such links keeps a working one (and unescaped markdown)
    # in between. A zero-width space between ']' and '(' defuses every one of them.
    return tidy.replace("](", "]\u200b(")


def html_to_text(html: str, limit: int = BODY_LIMIT) -> str:
    """The readable text of an HTML fragment, at most `limit` characters (cut on a word)."""
    collector = _TextCollector()
    collector.feed(html[: _COLLECT_LIMIT * 4])
    collector.close()
    text = "".join(collector.parts)
    return truncate(_tidy(text), limit)


def plain_text(text: str, limit: int) -> str:
    """Text that is already plain (no markup), tidied and capped."""
    return truncate(_tidy(text[: _COLLECT_LIMIT]), limit)


def one_line(text: str, limit: int) -> str:
    """For titles: everything on one line."""
    return truncate(" ".join(_tidy(text).split()), limit)
