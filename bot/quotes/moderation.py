"""Taking quotes out of a server and putting them back: reviewers remove an approved member
quote (with a reason) and restore it; a server hides a canon quote it does not want (canon quotes
are shared by every server, so hiding one changes only this server) and unhides it. Each is kept
in the quote's history (bot/quotes/store.py `history`).

The rules here; the commands in cogs/quotes.py, the replies in bot/quotes/render.py."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import UserFacingError
from bot.quotes.models import Quote
from bot.quotes.store import QuotesRepository
from bot.quotes.submissions import clean_reason

# An id as typed: anything beyond SQLite's integers is no quote at all.
MAX_QUOTE_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Moderated:
    quote: Quote
    action: str  # removed, restored, hidden, unhidden


def _is_canon(quote: Quote) -> bool:
    return quote.status == "canon"


async def _quote_here(quotes: QuotesRepository, guild_id: int, quote_id: int) -> Quote:
    """The quote with this id if this server has (or had) it: canon, or submitted here."""
    quote = await quotes.quote(quote_id) if 0 < quote_id <= MAX_QUOTE_ID else None
    if quote is None or not (_is_canon(quote) or quote.guild_id == guild_id):
        raise UserFacingError(f"There is no quote #{quote_id} here. The number is in the footer "
                              "of a quote's card, and `/quote queue` lists waiting "
                              "submissions.")
    return quote


async def remove(quotes: QuotesRepository, *, guild_id: int, quote_id: int, actor_id: int,
                 reason: str) -> Moderated:
    """Take an approved member quote out of this server's quotes."""
    why = clean_reason(reason)
    if why is None:
        raise UserFacingError("Give a reason for removing it: the member who submitted it and "
                              "the other reviewers will see it.")
    quote = await _quote_here(quotes, guild_id, quote_id)
    if _is_canon(quote):
        raise UserFacingError(f"Quote #{quote_id} is one of the shared quotes from interviews, "
                              "not a member's. To stop showing it here, use "
                              f"`/quote hide id:{quote_id}`.")
    if quote.status == "pending":
        raise UserFacingError(f"Quote #{quote_id} is still waiting for review. Reject it from "
                              "`/quote review` instead.")
    if quote.status != "approved":
        raise UserFacingError(f"Quote #{quote_id} was rejected, so it is not among this "
                              "server's quotes.")
    if not await quotes.take_out(quote_id, guild_id=guild_id, actor_id=actor_id,
                                 kind="removed", reason=why):
        raise UserFacingError(f"Quote #{quote_id} is already removed. "
                              f"`/quote history id:{quote_id}` shows who removed it and why.")
    return Moderated(quote, "removed")


async def restore(quotes: QuotesRepository, *, guild_id: int, quote_id: int,
                  actor_id: int) -> Moderated:
    """Put a removed member quote back."""
    quote = await _quote_here(quotes, guild_id, quote_id)
    if _is_canon(quote):
        raise UserFacingError(f"Quote #{quote_id} is one of the shared quotes, which are "
                              f"hidden rather than removed: `/quote unhide id:{quote_id}` shows "
                              "it here again.")
    if not await quotes.put_back(quote_id, guild_id=guild_id, actor_id=actor_id,
                                 kind="removed"):
        raise UserFacingError(f"Quote #{quote_id} is not removed, so there is nothing to "
                              "restore.")
    return Moderated(quote, "restored")


async def hide(quotes: QuotesRepository, *, guild_id: int, quote_id: int, actor_id: int,
               reason: str | None) -> Moderated:
    """Stop showing a canon quote in this server (other servers still show it)."""
    why = clean_reason(reason)
    quote = await _quote_here(quotes, guild_id, quote_id)
    if not _is_canon(quote):
        raise UserFacingError(f"Quote #{quote_id} was submitted by a member here: remove it "
                              f"with `/quote remove id:{quote_id} reason:`.")
    if not await quotes.take_out(quote_id, guild_id=guild_id, actor_id=actor_id,
                                 kind="hidden", reason=why):
        raise UserFacingError(f"Quote #{quote_id} is already hidden here. "
                              f"`/quote unhide id:{quote_id}` shows it again.")
    return Moderated(quote, "hidden")


async def unhide(quotes: QuotesRepository, *, guild_id: int, quote_id: int,
                 actor_id: int) -> Moderated:
    """Show a hidden canon quote in this server again."""
    quote = await _quote_here(quotes, guild_id, quote_id)
    if not _is_canon(quote):
        raise UserFacingError(f"Quote #{quote_id} was submitted by a member here: a removed "
                              f"one comes back with `/quote restore id:{quote_id}`.")
    if not await quotes.put_back(quote_id, guild_id=guild_id, actor_id=actor_id,
                                 kind="hidden"):
        raise UserFacingError(f"Quote #{quote_id} is not hidden here.")
    return Moderated(quote, "unhidden")


async def quote_for_history(quotes: QuotesRepository, guild_id: int, quote_id: int
                            ) -> tuple[Quote, str]:
    """The quote and where it stands here: 'shown', 'removed', 'hidden', 'pending' or
    'rejected'."""
    quote = await _quote_here(quotes, guild_id, quote_id)
    kind = await quotes.hidden_kind(guild_id, quote_id)
    if kind is not None:
        return quote, kind
    if quote.status in ("pending", "rejected"):
        return quote, quote.status
    return quote, "shown"
