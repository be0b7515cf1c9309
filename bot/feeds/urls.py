"""Web addresses from owners and from feeds: which are acceptable, and one normal form per story
link so the same article is recognised whatever tracking parameters or host spelling it has."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

FEED_URL_LIMIT = 1024
LINK_LIMIT = 512  # what a news item keeps (the news commands accept no longer)
_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Query parameters that say where a click came from, not what it points at.
_TRACKING = ("utm_", "mc_", "_hs")
_TRACKING_EXACT = frozenset({"fbclid", "gclid", "dclid", "msclkid", "igshid", "ref", "ref_src",
                             "ref_url", "cmpid", "ocid", "smid", "smtyp", "at_medium",
                             "at_campaign"})
# Characters a URL may carry as is; anything else (spaces, quotes, brackets) is %-encoded.
_URL_SAFE = ":/?#[]@!$&'*+,;=%~-._"


class FeedUrlError(ValueError):
    """The address cannot be followed; the message says why."""


def check_feed_url(raw: str) -> str:
    """A feed address an owner typed, cleaned, or FeedUrlError saying what is wrong."""
    url = raw.strip()
    if not url:
        raise FeedUrlError("the address is empty")
    if len(url) > FEED_URL_LIMIT:
        raise FeedUrlError(f"the address is longer than {FEED_URL_LIMIT} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise FeedUrlError("the address contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FeedUrlError("the address is not a valid URL") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise FeedUrlError("only http:// and https:// addresses can be followed")
    if not parts.hostname:
        raise FeedUrlError("the address has no host name")
    if parts.username is not None or parts.password is not None:
        raise FeedUrlError("the address must not contain a user name or password")
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower-cased by urlsplit
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def public_link(raw: str | None) -> str | None:
    """A link from a feed that is safe to put in a post: http(s), no credentials, no spaces,
    within LINK_LIMIT; anything else (javascript:, data:, mailto:...) is dropped."""
    if not raw:
        return None
    url = raw.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    if (parts.scheme.lower() not in _SCHEMES or not parts.hostname
            or parts.username is not None or parts.password is not None):
        return None
    cleaned = quote(url, safe=_URL_SAFE)
    return cleaned if len(cleaned) <= LINK_LIMIT else None


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING)


def link_key(raw: str | None) -> str | None:
    """The normal form of a story link: scheme, 'www.', default port, fragment, tracking
    parameters and a trailing slash do not matter; query order does not either."""
    if not raw:
        return None
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES or not parts.hostname:
        return None
    host = parts.hostname.removeprefix("www.")
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _tracking(k))
    key = host + path
    if query:
        key += "?" + urlencode(query)
    return key


def feed_host(url: str) -> str:
    """What logs may say about a feed: its host, never a path or query that may hold a token."""
    return urlsplit(url).hostname or "?"
