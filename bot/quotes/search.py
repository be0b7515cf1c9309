"""`/quote search`: words, "phrases", OR, -word / NOT word and word*, read by
bot/quotes/search_syntax.py into an FTS5 expression the index always understands; British and
American spellings find each other. What was typed but is not that syntax (`^`, `(`, `:`, an
`OR` with nothing to join, an unclosed quote) is read as plain words, and the reply says how
the search was read. Only a search with no words to look for is refused.

A search's cost is bounded twice. Before it reaches the database: at most MAX_TERMS words, at
most MAX_PREFIXES of them ending in `*`, and at least MIN_PREFIX_LENGTH letters before a `*`
(FTS5 keeps ready-made lists for word starts of 2 and 3 letters; `a*` merges the lists of every
word starting with "a", and twenty of them took 150-220 ms at 100,000 quotes). The words are
counted as typed: another spelling adds at most one exact word per word, which costs the index
little. Then the store stops any search statement that runs past its budget (SearchTooCostly,
see bot/quotes/store.py). Either way the member is told "That search is too broad: ..." and
what to change.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass

from bot.core.errors import UserFacingError
from bot.core.formatting import escape, truncate
from bot.quotes.models import QuoteSearchPage
from bot.quotes.search_syntax import Reading, read_search
from bot.quotes.store import InvalidSearch, QuotesRepository, SearchTooCostly

MAX_QUERY_LENGTH = 200
COUNTED_LEFT_OUT = 100  # "100+ quotes matched but were left out by -romance."
PER_PAGE = 5
MAX_TERMS = 8
MAX_PREFIXES = 3
MIN_PREFIX_LENGTH = 2
_WORD = re.compile(r"\w+")
# What FTS5's unicode61 tokenizer keeps as a token: runs of letters and digits.
_TOKEN = re.compile(r"[^\W_]+")
# The pieces of an FTS5 expression: a "string" ("" inside is a quote mark), a bareword, or a `*`
# (everything else, parentheses, `^`, `+`, commas, is punctuation here).
_PIECE = re.compile(r'"(?:[^"]|"")*"?|[^\s"()*:^+{},]+|\*')
_OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})

SEARCH_HELP = (
    "Search with words (`nick charlie`), an exact phrase in double quotes (`\"first kiss\"`), "
    "`OR` between alternatives, `-word` or `NOT word` to leave a word out, or a word start "
    "with `*` (`romanc*`). British and American spellings find each other."
)
TOO_BROAD = "That search is too broad: "
OVER_BUDGET = (TOO_BROAD + "it took too long, so I stopped it. Use rarer words, fewer of them, "
               "or fewer words ending in `*`.")


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str  # as the member typed it
    page: QuoteSearchPage
    literal: bool  # some of the query was not search syntax: read as plain words
    read_as: str = ""  # the search as read, in the accepted syntax
    notes: tuple[str, ...] = ()  # what was read differently from how it was typed
    also_spelt: tuple[str, ...] = ()  # other spellings searched for too
    left_out: int = 0  # with nothing found: how many match once nothing is left out
    excluded: str = ""  # what was left out, as read (`-romance`)

    @property
    def reading_note(self) -> str | None:
        """'Read as: chemistry -romance (`^` has no meaning here, …).' and the other spellings
        searched for, or None when the search was read as typed."""
        parts = []
        if self.notes:
            shown = escape(truncate(self.read_as, 300))
            parts.append(f"Read as: “{shown}” ({'; '.join(self.notes)}).")
        if self.also_spelt:
            parts.append("Also searched for the other spelling: "
                         f"{', '.join(self.also_spelt)}.")
        if self.left_out:
            counted = f"{self.left_out}+" if self.left_out >= COUNTED_LEFT_OUT else str(
                self.left_out)
            parts.append(f"{counted} {'quote' if self.left_out == 1 else 'quotes'} matched "
                         f"but {'was' if self.left_out == 1 else 'were'} left out by "
                         f"{escape(truncate(self.excluded, 200))}.")
        return " ".join(parts) or None


@dataclass(frozen=True, slots=True)
class SearchTerms:
    words: int  # every word the index is asked for
    prefixes: tuple[str, ...]  # the word starts before a `*`, as the index holds them


def _index_tokens(text: str) -> list[str]:
    """The words of `text` as the search index holds them (lower case, accents removed)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _TOKEN.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def search_terms(query: str) -> SearchTerms:
    """What an FTS5 expression asks the index for, read the way FTS5 reads it: operators
    (AND, OR, NOT, NEAR), column names (`speaker_name:`) and NEAR's distance are not words; a
    `*` after a word or a "string" makes its last word a prefix."""
    words = 0
    prefixes: list[str] = []
    last: list[str] = []  # the words of the piece just before, for a `*` after it
    for match in _PIECE.finditer(query):
        piece = match.group()
        if piece == "*":
            if last:
                prefixes.append(last[-1])
            last = []
            continue
        if piece.startswith('"'):
            tokens = _index_tokens(piece.strip('"').replace('""', '"'))
        elif (piece in _OPERATORS or query[match.end():].lstrip().startswith(":")
              or query[:match.start()].rstrip().endswith(",")):  # NEAR(a b, 10): a distance
            last = []
            continue
        else:
            tokens = _index_tokens(piece)
        words += len(tokens)
        last = tokens
    return SearchTerms(words, tuple(prefixes))


def check_cost(query: str) -> None:
    """Refuse, with what to change, a search (an FTS5 expression) the index would answer
    slowly."""
    _check_terms(search_terms(query))


def _check_terms(terms: SearchTerms) -> None:
    if terms.words > MAX_TERMS:
        raise UserFacingError(f"{TOO_BROAD}it has {terms.words} words; use at most {MAX_TERMS}, "
                              "the ones that matter most.")
    if len(terms.prefixes) > MAX_PREFIXES:
        raise UserFacingError(f"{TOO_BROAD}at most {MAX_PREFIXES} words can end in `*` (it has "
                              f"{len(terms.prefixes)}).")
    short = next((p for p in terms.prefixes if len(p) < MIN_PREFIX_LENGTH), None)
    if short is not None:
        raise UserFacingError(f"{TOO_BROAD}`{short}*` could be almost any word. Give at least "
                              f"{MIN_PREFIX_LENGTH} letters before a `*`.")


def literal_expression(text: str) -> str | None:
    """Every word of `text` as its own quoted FTS5 string (all must match), or None."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join(f'"{word}"' for word in words)


def read(query: str) -> Reading:
    """The search as read, checked: words to look for, within the cost limits."""
    reading = read_search(query)
    _check_terms(SearchTerms(reading.words, reading.prefixes))
    if not reading.groups:
        why = f" ({'; '.join(reading.notes)})" if reading.notes else ""
        if reading.excluded:
            raise UserFacingError(f"Tell me what to look for as well: `{reading.shown()}` only "
                                  f"says what to leave out{why}. {SEARCH_HELP}")
        raise UserFacingError(f"I couldn't read that search: it has no words in it{why}. "
                              f"{SEARCH_HELP}")
    return reading


async def search_quotes(quotes: QuotesRepository, guild_id: int, text: str, *,
                        page: int = 0, per_page: int = PER_PAGE) -> SearchResult:
    query = " ".join(text.split())
    if not query:
        raise UserFacingError(f"Tell me what to look for. {SEARCH_HELP}")
    if len(query) > MAX_QUERY_LENGTH:
        raise UserFacingError(f"That search is {len(query)} characters long; keep it under "
                              f"{MAX_QUERY_LENGTH}.")
    reading = read(query)
    page = max(0, page)
    notes = tuple(reading.notes)
    try:
        try:
            result = await quotes.search(guild_id, reading.expression(), page=page,
                                         per_page=per_page)
        except InvalidSearch:
            # Not expected (every word is quoted), but a search must never fail on its syntax.
            expression = literal_expression(query)
            if expression is None:
                raise UserFacingError(f"I couldn't read that search: it has no words in it. "
                                      f"{SEARCH_HELP}") from None
            check_cost(expression)
            result = await quotes.search(guild_id, expression, page=page, per_page=per_page)
            notes += ("I looked for its words as plain text",)
    except SearchTooCostly:
        raise UserFacingError(OVER_BUDGET) from None
    if result.total and page >= result.page_count:  # a stale button after the pool shrank
        return await search_quotes(quotes, guild_id, query, page=result.page_count - 1,
                                   per_page=per_page)
    left_out = 0
    if not result.total and reading.excluded:
        # "Nothing matches" alone would hide that the words did match, before the leaving out.
        with contextlib.suppress(SearchTooCostly, InvalidSearch):
            kept = await quotes.search(guild_id, reading.positive_expression(), page=0,
                                       per_page=1)
            left_out = min(kept.total, COUNTED_LEFT_OUT)
    return SearchResult(query, result, reading.plain, reading.shown(), notes,
                        tuple(reading.spelling_variants()), left_out,
                        " ".join("-" + t.shown for t in reading.excluded))
