"""What `/quote search` accepts, read into an FTS5 expression the index always understands.

The accepted syntax, and nothing else:
- words: `nick charlie` finds quotes with every word (in the text, the speaker or the outlet);
- `"an exact phrase"` in double quotes (curly quotes too);
- `OR` (capitals) between two words or phrases: either will do (`chemistry OR romance kiss`:
  kiss, and chemistry or romance);
- `-word` or `NOT word` (capitals): quotes with that word are left out;
- `word*` or `"a phrase"*`: the last word may go on (`romanc*`: romance, romantic);
- British and American spellings find each other (`favourite` / `favorite`,
  bot/quotes/search_spellings.py).

Anything else is read as plain words, and the reply says how the search was read: FTS5's other
syntax (`^`, `+`, `(`, `)`, `{`, `}`, `:` column filters) is ignored rather than handed to FTS5,
where it would quietly mean something else (`^chemistry`: only quotes *starting* with it) or
fail, and NEAR is a word like any other; an `OR` or `NOT` with nothing to join, or a `*` that
ends no word, is dropped; the words after a quote mark left open are read as plain words. A
search that only leaves words out is refused: FTS5 needs a word to look for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.quotes.search_spellings import variants

# What FTS5's unicode61 tokenizer keeps as a token: runs of letters and digits.
_TOKEN = re.compile(r"[^\W_]+")
# A piece of the typed text: a "phrase" (maybe unclosed) with an optional `*` after it, or a
# run of anything but spaces and double quotes.
_PIECE = re.compile(r'(-?)"([^"]*)("?)(\*?)|[^\s"]+')
_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"'})
# FTS5 syntax this search does not offer: ignored, and said so.
_IGNORED_SYNTAX = "^+(){}:"
_OPERATORS = frozenset({"OR", "NOT", "AND"})


def index_tokens(text: str) -> tuple[str, ...]:
    """The words of `text` as the search index holds them (lower case, accents removed)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return tuple(_TOKEN.findall("".join(c for c in decomposed
                                        if not unicodedata.combining(c))))


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase to look for: its words as the index holds them, as typed."""

    tokens: tuple[str, ...]
    shown: str  # how the reply writes it back
    prefix: bool = False  # the last word may go on


@dataclass(slots=True)
class Reading:
    """A search as read: every group must match (each group: any of its terms), no excluded
    term may. `notes` say what was read differently from how it was typed."""

    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plain: bool = False  # some characters were neither words nor this search's syntax

    @property
    def terms(self) -> list[Term]:
        return [t for group in self.groups for t in group] + self.excluded

    @property
    def words(self) -> int:
        return sum(len(t.tokens) for t in self.terms)

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(t.tokens[-1] for t in self.terms if t.prefix)

    def shown(self) -> str:
        """The search as read, in this syntax: `chemistry OR romance kiss -drama`."""
        parts = [" OR ".join(t.shown for t in group) for group in self.groups]
        parts += ["-" + t.shown for t in self.excluded]
        return " ".join(parts)

    def spelling_variants(self) -> list[str]:
        """The other spellings searched for too, as written back."""
        found: list[str] = []
        for term in self.terms:
            for spelt in variants(term.tokens)[1:]:
                text = " ".join(spelt)
                found.append(f'"{text}"' if len(spelt) > 1 else text)
        return list(dict.fromkeys(found))

    def positive_expression(self) -> str:
        """The FTS5 expression of what to look for, leaving nothing out."""
        return " AND ".join("(" + " OR ".join(_fts(t) for t in group) + ")"
                            for group in self.groups)

    def expression(self) -> str:
        """The FTS5 expression: every group in parentheses, spelling variants as OR."""
        positive = self.positive_expression()
        if not self.excluded:
            return positive
        return f"({positive}) NOT (" + " OR ".join(_fts(t) for t in self.excluded) + ")"


def _fts(term: Term) -> str:
    star = "*" if term.prefix else ""
    spelt = [f'"{" ".join(tokens)}"{star}' for tokens in variants(term.tokens)]
    return spelt[0] if len(spelt) == 1 else "(" + " OR ".join(spelt) + ")"


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else repr(text)


@dataclass(slots=True)
class _Item:
    kind: str  # "term", "or", "not"
    term: Term | None = None
    negated: bool = False
    typed: str = ""


def read_search(query: str) -> Reading:
    """Read a search typed in /quote search (see the module's docstring)."""
    reading = Reading()
    items = _items(query.translate(_CURLY_QUOTES), reading)
    _combine(items, reading)
    return reading


def _items(text: str, reading: Reading) -> list[_Item]:
    items: list[_Item] = []
    ignored: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        if match.group(2) is not None or piece.startswith(('"', '-"')):  # a phrase
            negated, inner, closed, star = (match.group(1) == "-", match.group(2),
                                            match.group(3), match.group(4))
            tokens = index_tokens(inner)
            if not closed:  # a stray quote mark more often than a phrase: plain words
                reading.notes.append('the `"` was not closed, so I looked for its words as '
                                     'plain text')
                reading.plain = True
                items += [_Item("term", Term(index_tokens(word), word), negated and i == 0,
                                word)
                          for i, word in enumerate(inner.split()) if index_tokens(word)]
                continue
            if not tokens:
                continue
            shown = '"' + " ".join(inner.split()) + '"' + ("*" if star else "")
            items.append(_Item("term", Term(tokens, shown, bool(star)), negated, piece))
            continue
        if piece in _OPERATORS:
            items.append(_Item(piece.lower() if piece != "AND" else "and", typed=piece))
            continue
        negated = piece.startswith("-") and len(piece) > 1
        word = piece[1:] if negated else piece
        stray = [c for c in word if c in _IGNORED_SYNTAX]
        ignored += stray
        star = word.endswith("*")
        core = word.rstrip("*")
        if "*" in core or (star and not index_tokens(core)):
            ignored.append("*")
        tokens = index_tokens(core)
        if not tokens:
            continue
        if any(not c.isalnum() and c not in _IGNORED_SYNTAX + "*" for c in core):
            reading.plain = True  # an apostrophe or hyphen: its words, side by side
        clean = " ".join("".join(c if c not in _IGNORED_SYNTAX + "*" else " "
                                 for c in core).split())
        if " " in clean:  # `kit:connor`: two words, side by side
            clean = f'"{clean}"'
        items.append(_Item("term", Term(tokens, clean + ("*" if star else ""), star), negated,
                           piece))
    if ignored:
        marks = " ".join(_code(c) for c in dict.fromkeys(ignored))
        reading.notes.append(f"{marks} {'has' if len(set(ignored)) == 1 else 'have'} no "
                             "meaning here, so I looked for the words as plain text")
        reading.plain = True
    return items


def _combine(items: list[_Item], reading: Reading) -> None:
    """Join terms with OR into groups; NOT and `-` exclude the term after them."""
    dropped: list[str] = []
    pending_not = False
    joining = False  # the last item was an OR after a term
    for i, item in enumerate(items):
        if item.kind == "and":
            continue
        if item.kind == "not":
            if pending_not or i + 1 >= len(items) or items[i + 1].kind != "term":
                dropped.append("NOT")
            else:
                pending_not = True
            continue
        if item.kind == "or":
            after = items[i + 1] if i + 1 < len(items) else None
            before_ok = bool(reading.groups) and not pending_not and (
                i > 0 and items[i - 1].kind == "term" and not items[i - 1].negated
                and not _was_excluded(items, i - 1))
            after_ok = after is not None and after.kind == "term" and not after.negated
            if before_ok and after_ok and not joining:
                joining = True
            else:
                dropped.append("OR")
            continue
        assert item.term is not None
        if item.negated or pending_not:
            reading.excluded.append(item.term)
            pending_not = False
            joining = False
            continue
        if joining:
            reading.groups[-1].append(item.term)
            joining = False
        else:
            reading.groups.append([item.term])
    for word in dict.fromkeys(dropped):
        reading.notes.append(f"`{word}` needs a word or phrase on "
                             f"{'each side' if word == 'OR' else 'its right'}, so I left it out")


def _was_excluded(items: list[_Item], index: int) -> bool:
    """Whether the term at `index` follows a NOT (and so was left out, not looked for)."""
    return index > 0 and items[index - 1].kind == "not"
