"""What a failed request means for a delivery.

Split in two: `classify_http` decides from Discord's status and JSON code alone (pure, tested
directly), `classify` maps the exceptions discord.py and aiohttp raise onto it.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

import aiohttp
import discord


class Verdict(enum.Enum):
    DONE = "done"  # counts as success (a crosspost that already happened)
    WAIT = "wait"  # rate limited: try again after retry_after; not the delivery's fault
    RETRY = "retry"  # Discord or the network had a bad moment: exponential backoff
    PAUSE = "pause"  # the bot lost access: pause the subscription, tell the server, retry slowly
    END = "end"  # the channel (or server) is gone: end the subscription
    FAIL = "fail"  # what we sent is wrong: a bug to log loudly, never retried as is


@dataclass(frozen=True, slots=True)
class Failure:
    verdict: Verdict
    reason: str  # short, for the delivery's last_error and /news subscriptions
    retry_after: float | None = None


MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
ALREADY_CROSSPOSTED = 40033

_REASONS = {
    MISSING_ACCESS: "Missing Access (the bot cannot see the channel)",
    MISSING_PERMISSIONS: "Missing Permissions",
    UNKNOWN_CHANNEL: "the channel was deleted",
    UNKNOWN_GUILD: "the bot is no longer in the server",
    UNKNOWN_MESSAGE: "the post was deleted",
    ALREADY_CROSSPOSTED: "already published",
}


def classify_http(status: int, code: int, message: str = "", *,
                  publishing: bool = False) -> Failure:
    reason = _REASONS.get(code) or f"HTTP {status}" + (f" {code}" if code else "") + (
        f": {message}" if message else "")
    reason = reason[:300]
    if publishing and code == ALREADY_CROSSPOSTED:
        return Failure(Verdict.DONE, reason)
    if status == 403:
        return Failure(Verdict.PAUSE, reason)
    if status == 404 and code in (UNKNOWN_CHANNEL, UNKNOWN_GUILD):
        return Failure(Verdict.END, reason)
    if status == 429:
        # A 429 discord.py did not handle itself has no usable retry_after (most likely a
        # Cloudflare block): back off like any other transient failure.
        return Failure(Verdict.RETRY, reason)
    if status >= 500:
        return Failure(Verdict.RETRY, reason)
    # 400 (50035 Invalid Form Body and friends), 401, other 404s: retrying cannot help.
    return Failure(Verdict.FAIL, reason)


def classify(error: BaseException, *, publishing: bool = False) -> Failure:
    if isinstance(error, discord.RateLimited):
        return Failure(Verdict.WAIT, f"rate limited for {error.retry_after:.0f} s",
                       error.retry_after)
    if isinstance(error, discord.HTTPException):
        return classify_http(error.status, error.code, error.text, publishing=publishing)
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return Failure(Verdict.RETRY, "Discord did not answer in time")
    if isinstance(error, aiohttp.ClientError | OSError):
        return Failure(Verdict.RETRY, f"connection error: {type(error).__name__}")
    return Failure(Verdict.FAIL, f"{type(error).__name__}: {error}"[:300])
