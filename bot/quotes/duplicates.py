"""Near-duplicate detection for submissions.

Full-text search narrows the pool down to a handful of quotes sharing the submission's rarest
words (rare words find a copy; common ones only cost time); a fuzzy comparison of the normalised
texts then decides. Normalising first means curly quotes, punctuation, case and spacing never
make a copy look new.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from rapidfuzz import fuzz

from bot.quotes.models import Quote
from bot.quotes.store import QuotesRepository, SearchTooCostly

# Similar enough to be worth a reviewer's look: typos and punctuation differ, the words do not.
WHOLE_SIMILARITY = 90.0
# One text is (almost exactly) a part of the other, e.g. the first sentences of a known quote.
PART_SIMILARITY = 95.0
PART_MIN_LENGTH = 40
_CANDIDATES = 20
_QUERY_WORDS = 8
_NOT_WORD = re.compile(r"[^\w\s]+")
# What FTS5's unicode61 tokenizer keeps as a token: runs of letters and digits.
_TOKEN = re.compile(r"[^\W_]+")
log = logging.getLogger(__name__)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NOT_WORD.sub(" ", text.replace("’", "'").replace("'", ""))
    return " ".join(text.split())


def index_terms(text: str) -> set[str]:
    """The words of `text` as the search index holds them (lower case, accents removed)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return set(_TOKEN.findall(plain))


def similarity(a: str, b: str) -> float:
    """0-100: how alike two quotes are once normalised."""
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return 0.0
    score = fuzz.ratio(left, right)
    if min(len(left), len(right)) >= PART_MIN_LENGTH:
        part = fuzz.partial_ratio(left, right)
        if part >= PART_SIMILARITY:
            score = max(score, part)
    return float(score)


def is_near_duplicate(a: str, b: str) -> bool:
    return similarity(a, b) >= WHOLE_SIMILARITY


async def find_near_duplicate(quotes: QuotesRepository, guild_id: int, text: str) -> Quote | None:
    """The most similar quote in this server's pool or review queue, if near enough."""
    terms = index_terms(text)
    counts = await quotes.term_frequencies(terms)
    # A word no quote contains cannot lead to a copy; of the rest, the rarest say the most.
    rarest = sorted((t for t in terms if counts.get(t)), key=lambda t: (counts[t], t))
    if not rarest:
        return None
    expression = " OR ".join(f'"{t}"' for t in rarest[:_QUERY_WORDS])
    try:
        candidates = await quotes.similar_candidates(guild_id, expression, limit=_CANDIDATES)
    except SearchTooCostly:
        # Only very common words, each in thousands of quotes: ranking them all would hold up
        # every read. The submission goes to review without a duplicate pointed out.
        log.info("near-duplicate check of a submission in guild %s stopped: over budget",
                 guild_id)
        return None
    best: tuple[float, Quote] | None = None
    for candidate in candidates:
        score = similarity(text, candidate.text)
        if score >= WHOLE_SIMILARITY and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None
