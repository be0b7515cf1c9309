"""`/quote search`: FTS5 syntax for those who know it, plain words for everyone else.

The text is first given to FTS5 as typed (so "exact phrases", OR, NOT and prefix* work). If FTS5
cannot read it (an apostrophe, a stray quote mark, `kit:`), its words are searched as plain text
instead and the reply says so; only a query with no words at all is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserFacingError
from bot.store.models import QuoteSearchPage
from bot.store.quotes import InvalidSearch, QuotesRepository

MAX_QUERY_LENGTH = 200
PER_PAGE = 5
_WORD = re.compile(r"\w+")

SEARCH_HELP = (
    "Search with words (`nick charlie`), an exact phrase in double quotes (`\"first kiss\"`), "
    "`OR` between alternatives, or a word start with `*` (`romanc*`)."
)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str  # as the member typed it
    page: QuoteSearchPage
    literal: bool  # the query was not search syntax: its words were searched as plain text


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
    page = max(0, page)
    try:
        result = await quotes.search(guild_id, query, page=page, per_page=per_page)
        literal = False
    except InvalidSearch:
        expression = literal_expression(query)
        if expression is None:
            raise UserFacingError(f"I couldn't read that search: it has no words in it. "
                                  f"{SEARCH_HELP}") from None
        result = await quotes.search(guild_id, expression, page=page, per_page=per_page)
        literal = True
    if result.total and page >= result.page_count:  # a stale button after the pool shrank
        return await search_quotes(quotes, guild_id, query, page=result.page_count - 1,
                                   per_page=per_page)
    return SearchResult(query, result, literal)
