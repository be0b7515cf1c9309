"""`/quote search`: FTS5 syntax for those who know it, plain words for everyone else.

The text is first given to FTS5 as typed (so "exact phrases", OR, NOT and prefix* work). If FTS5
cannot read it (an apostrophe, a stray quote mark, `kit:`), its words are searched as plain text
instead and the reply says so; only a query with no words at all is refused.

A search's cost is bounded twice. Before it reaches the database: at most MAX_TERMS words, at
most MAX_PREFIXES of them ending in `*`, and at least MIN_PREFIX_LENGTH letters before a `*`
(FTS5 keeps ready-made lists for word starts of 2 and 3 letters; `a*` merges the lists of every
word starting with "a", and twenty of them took 150-220 ms at 100,000 quotes). Then the store
stops any search statement that runs past its budget (SearchTooCostly, see bot/quotes/store.py).
Either way the member is told "That search is too broad: ..." and what to change.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.core.errors import UserFacingError
from bot.quotes.models import QuoteSearchPage
from bot.quotes.store import InvalidSearch, QuotesRepository, SearchTooCostly

MAX_QUERY_LENGTH = 200
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
    "`OR` between alternatives, or a word start with `*` (`romanc*`)."
)
TOO_BROAD = "That search is too broad: "
OVER_BUDGET = (TOO_BROAD + "it took too long, so I stopped it. Use rarer words, fewer of them, "
               "or fewer words ending in `*`.")


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str  # as the member typed it
    page: QuoteSearchPage
    literal: bool  # the query was not search syntax: its words were searched as plain text


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
    """Refuse, with what to change, a search the index would answer slowly."""
    terms = search_terms(query)
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


async def search_quotes(quotes: QuotesRepository, guild_id: int, text: str, *,
                        page: int = 0, per_page: int = PER_PAGE) -> SearchResult:
    query = " ".join(text.split())
    if not query:
        raise UserFacingError(f"Tell me what to look for. {SEARCH_HELP}")
    if len(query) > MAX_QUERY_LENGTH:
        raise UserFacingError(f"That search is {len(query)} characters long; keep it under "
                              f"{MAX_QUERY_LENGTH}.")
    check_cost(query)
    page = max(0, page)
    try:
        try:
            result = await quotes.search(guild_id, query, page=page, per_page=per_page)
            literal = False
        except InvalidSearch:
            expression = literal_expression(query)
            if expression is None:
                raise UserFacingError(f"I couldn't read that search: it has no words in it. "
                                      f"{SEARCH_HELP}") from None
            check_cost(expression)
            result = await quotes.search(guild_id, expression, page=page, per_page=per_page)
            literal = True
    except SearchTooCostly:
        raise UserFacingError(OVER_BUDGET) from None
    if result.total and page >= result.page_count:  # a stale button after the pool shrank
        return await search_quotes(quotes, guild_id, query, page=result.page_count - 1,
                                   per_page=per_page)
    return SearchResult(query, result, literal)
