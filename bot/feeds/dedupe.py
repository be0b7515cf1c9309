"""How an entry is recognised: by guid, then by link, then by a hash of its title and date; and
across feeds (or against news posted by hand) by its normalised link or title.

Keys are digests, so a hostile feed's kilobyte-long guid costs the same as a short one.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.feeds.parser import FeedEntry
from bot.feeds.urls import link_key

_NOT_WORD = re.compile(r"[^\w]+")
# A headline this short ("News", "Update 3") names no particular story.
_TITLE_KEY_MIN_WORDS = 3
_TITLE_KEY_MIN_CHARS = 12


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def normalise_words(text: str) -> str:
    """Case, accents and punctuation removed: 'Heartstopper’s Season 3!' -> 'heartstopper s
    season 3'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", stripped.casefold()).replace("_", " ").split())


def title_key(title: str) -> str | None:
    """The normal form of a headline, or None when it is too generic to identify a story."""
    words = normalise_words(title)
    if len(words.split()) < _TITLE_KEY_MIN_WORDS or len(words) < _TITLE_KEY_MIN_CHARS:
        return None
    return words


@dataclass(frozen=True, slots=True)
class EntryIdentity:
    keys: tuple[str, ...]  # every key recorded once the entry is seen
    match_keys: tuple[str, ...]  # the keys that make it "already seen"
    link_key: str | None  # for recognising the story elsewhere (None: no usable link)
    title_key: str | None
    dedupe_key: str  # the news item's key: the same story gets the same key


def identify(feed_id: int, entries: Sequence[FeedEntry]) -> list[EntryIdentity]:
    """Identities for the entries of one document, in the same order.

    A link that several entries of the document share (a feed linking every entry to its home
    page) identifies none of them, here or across feeds.
    """
    links = [link_key(e.link) for e in entries]
    shared = {k for k, n in Counter(k for k in links if k).items() if n > 1}
    identities = []
    for entry, link in zip(entries, links, strict=True):
        usable = link if link and link not in shared else None
        guid_key = f"guid:{digest(entry.guid)}" if entry.guid else None
        link_seen_key = f"link:{digest(usable)}" if usable else None
        when = entry.published.isoformat() if entry.published else ""
        hash_key = f"hash:{digest(normalise_words(entry.title) + '|' + when)}"
        keys = tuple(k for k in (guid_key, link_seen_key, hash_key) if k)
        # The title-and-date hash only decides for entries with neither guid nor link: two
        # different stories can share a headline on one day, two guids cannot.
        match = tuple(k for k in (guid_key, link_seen_key) if k) or (hash_key,)
        if usable:
            dedupe_key = f"feed:link:{digest(usable)}"
        else:
            dedupe_key = f"feed:{feed_id}:{digest(match[0])}"
        identities.append(EntryIdentity(keys=keys, match_keys=match, link_key=usable,
                                        title_key=title_key(entry.title),
                                        dedupe_key=dedupe_key))
    return identities
