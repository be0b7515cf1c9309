"""Community submissions: the rules a submission must meet, and storing it for review."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.canon.seeding import MAX_QUOTE_LENGTH
from bot.core.errors import UserFacingError
from bot.core.text import clean_text, visible_length
from bot.quotes.duplicates import find_near_duplicate
from bot.quotes.models import Quote, QuoteSubmission
from bot.quotes.store import QuotesRepository

MIN_QUOTE_LENGTH = 3
MAX_SPEAKER_LENGTH = 100
MAX_SOURCE_LENGTH = 300
MAX_REASON_LENGTH = 300
_BLANK_LINES = re.compile(r"\n{3,}")
_WRAPPING_QUOTES = (('"', '"'), ("“", "”"), ("'", "'"), ("‘", "’"), ("«", "»"))


@dataclass(frozen=True, slots=True)
class SubmissionDraft:
    text: str
    speaker: str
    source: str | None


@dataclass(frozen=True, slots=True)
class Submitted:
    submission: QuoteSubmission
    near_duplicate: Quote | None


def _printable(text: str, *, keep_newlines: bool) -> str:
    """What the member typed, less what can hurt (controls, bidi overrides, stray tags; see
    bot.text): joiners, variation selectors and flag tags stay, so emoji keep their meaning."""
    return clean_text(text, keep_newlines=keep_newlines)


def _one_line(text: str) -> str:
    return " ".join(_printable(text, keep_newlines=False).split())


def _number(n: int) -> str:
    return f"{n:,}"


def clean_quote_text(raw: str) -> str:
    lines = [" ".join(line.split()) for line in _printable(raw, keep_newlines=True).split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    for opening, closing in _WRAPPING_QUOTES:
        if len(text) > 2 and text.startswith(opening) and text.endswith(closing):
            inner = text[1:-1].strip()
            if opening not in inner and closing not in inner:
                text = inner
            break
    return text


def clean_submission(text: str, speaker: str, source: str | None) -> SubmissionDraft:
    """The submission as it will be stored, or a UserFacingError naming what is wrong."""
    quote = clean_quote_text(text)
    if visible_length(quote) < MIN_QUOTE_LENGTH:
        raise UserFacingError("The quote is empty or too short: paste the words as they were "
                              "said.")
    if len(quote) > MAX_QUOTE_LENGTH:
        raise UserFacingError(f"Quotes can be at most {_number(MAX_QUOTE_LENGTH)} characters; "
                              f"this one has {_number(len(quote))}. Submit the part that matters.")
    who = _one_line(speaker)
    if not visible_length(who):
        raise UserFacingError("Say who said it in `speaker` (for example `Alice Oseman`).")
    if len(who) > MAX_SPEAKER_LENGTH:
        raise UserFacingError(f"The speaker's name can be at most {MAX_SPEAKER_LENGTH} "
                              f"characters; this one has {_number(len(who))}.")
    where = _one_line(source) if source else ""
    if len(where) > MAX_SOURCE_LENGTH:
        raise UserFacingError(f"The source can be at most {MAX_SOURCE_LENGTH} characters; this "
                              f"one has {_number(len(where))}. A link or the outlet and date is "
                              "enough.")
    return SubmissionDraft(quote, who, where or None)


def clean_reason(raw: str | None) -> str | None:
    reason = _one_line(raw or "")
    if len(reason) > MAX_REASON_LENGTH:
        raise UserFacingError(f"A reason can be at most {MAX_REASON_LENGTH} characters; this one "
                              f"has {_number(len(reason))}.")
    return reason or None


async def submit_quote(quotes: QuotesRepository, *, guild_id: int, user_id: int,
                       draft: SubmissionDraft) -> Submitted:
    """Store a submission for review, attributed to a known person when the name matches one,
    and pointing at the existing quote it nearly duplicates, if any."""
    person = await quotes.person_named(draft.speaker)
    duplicate = await find_near_duplicate(quotes, guild_id, draft.text)
    submission = await quotes.submit(
        guild_id=guild_id, user_id=user_id, text=draft.text,
        speaker_name=person.name if person else draft.speaker,
        speaker_id=person.id if person else None, source_text=draft.source,
        near_duplicate_of=duplicate.id if duplicate else None,
    )
    return Submitted(submission, duplicate)
