"""Per-feed keyword filters: an entry passes when its title or summary mentions one keyword as
whole words, whatever the case, accents or punctuation ('#Heartstopper', 'HEARTSTOPPER:' and
'Heartstopper’s' all mention 'heartstopper')."""

from __future__ import annotations

from collections.abc import Sequence

from bot.feeds.dedupe import normalise_words
from bot.feeds.parser import FeedEntry

MAX_KEYWORDS = 10
KEYWORD_LIMIT = 50


class KeywordError(ValueError):
    """The keyword list cannot be used; the message says why."""


def parse_keywords(raw: str | None) -> tuple[str, ...]:
    """'Heartstopper, Alice Oseman' -> ('Heartstopper', 'Alice Oseman'); empty -> ()."""
    if raw is None or not raw.strip():
        return ()
    found: dict[str, str] = {}
    for part in raw.split(","):
        keyword = " ".join(part.split())
        if not keyword:
            continue
        if len(keyword) > KEYWORD_LIMIT:
            raise KeywordError(f"a keyword is longer than {KEYWORD_LIMIT} characters")
        if not normalise_words(keyword):
            raise KeywordError(f"{keyword[:20]!r} has no letters or digits to look for")
        found.setdefault(normalise_words(keyword), keyword)
    if len(found) > MAX_KEYWORDS:
        raise KeywordError(f"at most {MAX_KEYWORDS} keywords")
    return tuple(found.values())


def mentions_any(entry: FeedEntry, keywords: Sequence[str]) -> bool:
    if not keywords:
        return True
    text = f" {normalise_words(entry.title + ' ' + entry.summary)} "
    return any(f" {normalise_words(k)} " in text for k in keywords if normalise_words(k))
