"""Fetching a feed document over HTTP, defensively: http and https only, redirects followed a
few times and checked at each hop, one deadline for the whole fetch, the body streamed and cut
off at a size cap, conditional requests so an unchanged feed costs a 304.

Feed servers are strangers: everything they send is checked before it is used, and every way a
fetch can go wrong ends in a FetchError with a short reason an owner can read.

Unless `allow_private` is set (FEEDS_ALLOW_PRIVATE_ADDRESSES), a fetch reaches only the public
internet: the first address and every redirect are checked where the connection is made (see
addresses.py), and refusals and failures to connect all read NOT_PUBLIC, so that the answers do
not tell what listens inside the bot's network.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

from bot.feeds.addresses import (
    NOT_PUBLIC,
    AddressPolicy,
    PublicOnlyResolver,
    guarded_socket_factory,
    is_public_address,
    literal_address,
)
from bot.feeds.timing import FeedTiming
from bot.feeds.urls import FeedUrlError, check_feed_url

USER_AGENT = "heartstopper-bot/0.1 (feed reader)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
          "text/xml;q=0.9, */*;q=0.1")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_VALIDATOR_LIMIT = 256
_CHUNK = 64 * 1024


class FetchError(Exception):
    """The feed could not be fetched; `reason` is short and safe to show an owner."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # where the document was found, after redirects
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None


def acceptable_content_type(value: str | None) -> bool:
    """Loose on purpose: feeds are served as every kind of XML and as plain text."""
    if not value:
        return True
    mime = value.split(";", 1)[0].strip().lower()
    return any(word in mime for word in ("xml", "rss", "atom")) or mime.startswith("text/")


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth sending back: short, printable ASCII."""
    if value is None or len(value) > _VALIDATOR_LIMIT:
        return None
    if not all(32 <= ord(c) < 127 for c in value):
        return None
    return value


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    # An HTTP date: measured against the server's own Date header, so clocks need not agree.
    try:
        until = email.utils.parsedate_to_datetime(raw)
        now = email.utils.parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError):
        return None
    if until.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (until - now).total_seconds())


class FeedFetcher:
    """One HTTP session for every feed; `close()` when done.

    `allow_private` turns the public-internet check off (tests, intranets). `policy` says which
    addresses count as public and `resolver` looks names up (aiohttp's default resolver when
    None): both exist so tests can stand a local server in for a public one.
    """

    def __init__(self, timing: FeedTiming, *, user_agent: str = USER_AGENT,
                 allow_private: bool = False, policy: AddressPolicy = is_public_address,
                 resolver: AbstractResolver | None = None) -> None:
        self.timing = timing
        self.allow_private = allow_private
        self._user_agent = user_agent
        self._policy = policy
        self._resolver = resolver
        self._guard: PublicOnlyResolver | None = None
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if self.allow_private:
                connector = aiohttp.TCPConnector(limit=self.timing.concurrency * 2,
                                                 resolver=self._resolver)
            else:
                # Names are checked as they resolve and every socket as it connects; the
                # connector passes a resolver it was given through unclosed, so it is ours.
                self._guard = PublicOnlyResolver(self._resolver, policy=self._policy)
                connector = aiohttp.TCPConnector(
                    limit=self.timing.concurrency * 2, resolver=self._guard,
                    socket_factory=guarded_socket_factory(self._policy))
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self.timing.connect_timeout),
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self._user_agent, "Accept": ACCEPT},
                # Never through a proxy from HTTP_PROXY and the like: the proxy, not the bot,
                # would connect to the feed's address, past every check here. (Also no
                # credentials from ~/.netrc.)
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._guard is not None:
            await self._guard.close()
            self._guard = None

    async def fetch(self, url: str, *, etag: str | None = None,
                    last_modified: str | None = None) -> Fetched | None:
        """The document at `url`, or None when the server says it has not changed (304)."""
        try:
            async with asyncio.timeout(self.timing.fetch_timeout):
                return await self._fetch(url, etag, last_modified)
        except TimeoutError:
            # With the check on, only a public address can get as far as a timeout.
            raise FetchError(f"timed out after {self.timing.fetch_timeout:g} s") from None
        except aiohttp.ClientSSLError as exc:
            # TLS fails only after a connection was made, so to a checked, public address:
            # saying so tells nothing about the bot's network and helps fix the feed.
            raise FetchError(f"could not connect ({type(exc).__name__})") from None
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
            if not self.allow_private:
                # A refused address, a name that does not resolve (or resolves only inside),
                # a port where nothing listens: one answer, so none of them can be told apart.
                raise FetchError(NOT_PUBLIC) from None
            raise FetchError(f"could not connect ({type(exc).__name__})") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"could not connect ({type(exc).__name__})") from None
        except (UnicodeError, ValueError) as exc:  # hostile headers or addresses
            raise FetchError(f"bad response ({type(exc).__name__})") from None

    async def _fetch(self, url: str, etag: str | None,
                     last_modified: str | None) -> Fetched | None:
        session = self._open()
        headers: dict[str, str] = {}
        if etag := _validator(etag):
            headers["If-None-Match"] = etag
        if last_modified := _validator(last_modified):
            headers["If-Modified-Since"] = last_modified
        visited = {url}
        current = url
        for _hop in range(self.timing.max_redirects + 1):
            self._check_literal(current)
            async with session.get(current, headers=headers, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    current = self._next_hop(current, response, visited)
                    continue
                return await self._read(current, response)
        raise FetchError(f"more than {self.timing.max_redirects} redirects")

    def _check_literal(self, url: str) -> None:
        """An IP address written in the URL skips the resolver (aiohttp connects to it as it
        is), so it is checked here, before the request is made; the socket factory would refuse
        it too, should this ever be bypassed. The legacy forms (127.1, 2130706433) count."""
        if self.allow_private:
            return
        host = urlsplit(url).hostname or ""
        ip = literal_address(host)
        if ip is not None and not self._policy(ip):
            raise FetchError(NOT_PUBLIC)

    @staticmethod
    def _next_hop(current: str, response: aiohttp.ClientResponse, visited: set[str]) -> str:
        location = response.headers.get("Location")
        if not location:
            raise FetchError(f"HTTP {response.status} redirect without a Location")
        try:
            target = check_feed_url(urljoin(current, location))
        except FeedUrlError as exc:
            raise FetchError(f"redirected to an address that cannot be followed: {exc}") from None
        if target in visited:
            raise FetchError("redirect loop")
        visited.add(target)
        return target

    async def _read(self, url: str, response: aiohttp.ClientResponse) -> Fetched | None:
        if response.status == 304:
            return None
        if response.status != 200:
            retry = _retry_after(response) if response.status in (429, 503) else None
            raise FetchError(f"HTTP {response.status}", retry_after=retry)
        content_type = response.headers.get("Content-Type")
        if not acceptable_content_type(content_type):
            shown = (content_type or "").split(";", 1)[0].strip()[:60]
            raise FetchError(f"not a feed (content type {shown})")
        cap = self.timing.max_bytes
        if response.content_length is not None and response.content_length > cap:
            raise FetchError(f"larger than {cap // 1024} KB")
        body = bytearray()
        # Streamed: a 20 MB (or endless) body is abandoned at the cap, never read whole. The
        # count is of decompressed bytes, so a gzip bomb stops here too.
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > cap:
                raise FetchError(f"larger than {cap // 1024} KB")
        return Fetched(url=url, body=bytes(body), content_type=content_type,
                       etag=_validator(response.headers.get("ETag")),
                       last_modified=_validator(response.headers.get("Last-Modified")))
