"""Feeds reach only the public internet: loopback, private, link-local, shared and other special
addresses are refused, whether written in the URL, looked up from a name or reached by a
redirect, and every refusal and every failure to connect reads the same.

The sandbox has no public internet, so a local server on 127.0.0.2 stands in for a public one:
the fetcher is given a policy that counts exactly that address as public and a resolver that
maps made-up names to local addresses. The "inside" server listens on 127.0.0.1 on the same
port, so any request that slipped through would reach it, and each test checks it heard nothing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from aiohttp.test_utils import TestServer

from bot.core.config import Settings
from bot.feeds.addresses import (
    NOT_PUBLIC,
    AddressRefused,
    IPAddress,
    PublicOnlyResolver,
    guarded_socket_factory,
    is_public_address,
    literal_address,
    parse_address,
)
from bot.feeds.fetcher import FeedFetcher, FetchError
from bot.feeds.timing import FeedTiming
from tests.conftest import Harness
from tests.feeds_server import FeedServer, rss
from tests.test_feeds_e2e import poll_later, poller_of

# Short, so that without the check a fetch that hangs on an unroutable address fails the test
# quickly instead of passing.
TIMING = FeedTiming(interval=60, fetch_timeout=3.0, connect_timeout=2.0, first_look=0, tick=1)
PRETEND_PUBLIC = ipaddress.ip_address("127.0.0.2")
STORY = {"guid": "s1", "link": "https://fans.example.org/1", "title": "A story",
         "pubDate": "Tue, 24 Nov 2026 10:00:00 GMT"}


# ---- the classification ---------------------------------------------------------------------

NOT_PUBLIC_ADDRESSES = [
    # IPv4
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255",
    "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "169.254.0.1",
    "100.64.0.1", "100.127.255.254", "192.0.0.9", "192.0.2.1", "192.88.99.1", "198.18.0.1",
    "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255",
    # IPv6
    "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
    "ff0e::1", "100::1", "2001::1", "2001:db8::1", "3fff::1", "5f00::1", "4000::1",
    # IPv4 written as IPv6: mapped, compatible, translated, NAT64 and 6to4 of inside addresses
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1",
    "::127.0.0.1", "::8.8.8.8", "::ffff:0:7f00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808", "2002:7f00:1::1", "2002:a00:1::1",
]
PUBLIC_ADDRESSES = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "11.0.0.1", "172.15.255.255", "172.32.0.1",
    "100.63.255.255", "100.128.0.1", "169.253.255.255", "192.169.0.1", "223.255.255.254",
    "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1",
    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
]


def address(text: str) -> IPAddress:
    parsed = parse_address(text)
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize("text", NOT_PUBLIC_ADDRESSES)
def test_addresses_off_the_public_internet_are_not_public(text: str) -> None:
    assert is_public_address(address(text)) is False


@pytest.mark.parametrize("text", PUBLIC_ADDRESSES)
def test_public_addresses_are_public(text: str) -> None:
    assert is_public_address(address(text)) is True


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    # The legacy IPv4 spellings the C library accepts are addresses, not names.
    ("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("10.1", "10.0.0.1"),
    ("example.org", None), ("feeds.example.test", None), ("cafe.be", None), ("1e100.net", None),
    ("localhost", None), ("", None),
])
def test_a_literal_address_in_a_url_is_recognised_in_every_spelling(
        host: str, expected: str | None) -> None:
    assert literal_address(host) == (ipaddress.ip_address(expected) if expected else None)


# ---- the resolver and the socket factory, on their own ---------------------------------------

class TableResolver(AbstractResolver):
    """Names from a table (changeable mid-test, as a hostile DNS server's answers are), anything
    else from the system resolver; a name mapped to [] does not exist."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []
        self._system = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            return await self._system.resolve(host, port, family)
        if not self.table[host]:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [ResolveResult(hostname=host, host=ip, port=port,
                              family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for ip in self.table[host]]

    async def close(self) -> None:
        await self._system.close()


async def test_the_resolver_keeps_only_public_answers_and_refuses_a_name_with_none() -> None:
    inner = TableResolver({"mixed.example.test": ["10.0.0.7", "8.8.8.8", "::1", "2606:4700::1"],
                           "inside.example.test": ["127.0.0.1", "::1", "169.254.169.254"]})
    resolver = PublicOnlyResolver(inner)
    kept = await resolver.resolve("mixed.example.test", 443, socket.AF_UNSPEC)
    assert [a["host"] for a in kept] == ["8.8.8.8", "2606:4700::1"]
    with pytest.raises(AddressRefused) as refused:
        await resolver.resolve("inside.example.test", 443, socket.AF_UNSPEC)
    assert str(refused.value) == NOT_PUBLIC
    # The real system resolver behind it: localhost is loopback whatever /etc/hosts says.
    with pytest.raises(AddressRefused):
        await PublicOnlyResolver().resolve("localhost", 80, socket.AF_UNSPEC)


async def test_each_lookup_is_checked_so_a_name_that_changes_its_answer_gains_nothing() -> None:
    inner = TableResolver({"rebind.example.test": ["8.8.8.8"]})
    resolver = PublicOnlyResolver(inner)
    assert [a["host"] for a in await resolver.resolve("rebind.example.test", 80)] == ["8.8.8.8"]
    inner.table["rebind.example.test"] = ["127.0.0.1"]
    with pytest.raises(AddressRefused):
        await resolver.resolve("rebind.example.test", 80)


@pytest.mark.parametrize(("family", "sockaddr"), [
    (socket.AF_INET, ("127.0.0.1", 80)), (socket.AF_INET, ("169.254.169.254", 80)),
    (socket.AF_INET6, ("::1", 80, 0, 0)), (socket.AF_INET6, ("::ffff:10.0.0.1", 80, 0, 0)),
])
def test_the_socket_factory_refuses_to_open_a_socket_to_an_inside_address(
        family: int, sockaddr: tuple) -> None:
    make = guarded_socket_factory()
    with pytest.raises(AddressRefused):
        make((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
    made = make((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("8.8.8.8", 80)))
    made.close()


# ---- real fetches: an "outside" server on 127.0.0.2, an "inside" one on 127.0.0.1 -----------

class FeedServerAt(FeedServer):
    """The test feed server on a chosen address and port."""

    def __init__(self, host: str, port: int | None = None) -> None:
        super().__init__()
        self.host, self.port = host, port

    async def __aenter__(self) -> FeedServerAt:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self._handle)
        self._server = TestServer(app, host=self.host, port=self.port)
        await self._server.start_server()
        self.port = self._server.port
        return self


@dataclasses.dataclass
class Sites:
    outside: FeedServerAt  # 127.0.0.2, counted as public by `policy`
    inside: FeedServerAt  # 127.0.0.1, same port: what a feed must never reach
    resolver: TableResolver

    @property
    def port(self) -> int:
        assert self.outside.port is not None
        return self.outside.port

    def public_url(self, path: str) -> str:
        return f"http://feeds.example.test:{self.port}{path}"

    def fetcher(self) -> FeedFetcher:
        return FeedFetcher(TIMING, policy=policy, resolver=self.resolver)


def policy(ip: IPAddress) -> bool:
    return ip == PRETEND_PUBLIC or is_public_address(ip)


def free_port_on_both() -> int:
    """A port free on 127.0.0.1 and 127.0.0.2 alike (other test runs may hold some)."""
    for _ in range(20):
        with socket.socket() as first, socket.socket() as second:
            first.bind(("127.0.0.2", 0))
            port = first.getsockname()[1]
            try:
                second.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no port free on both loopback addresses")


@pytest.fixture
async def sites() -> AsyncIterator[Sites]:
    port = free_port_on_both()
    async with (FeedServerAt("127.0.0.2", port) as outside,
                FeedServerAt("127.0.0.1", port) as inside):
        resolver = TableResolver({"feeds.example.test": ["127.0.0.2"],
                                  "intranet.example.test": ["127.0.0.1"],
                                  "nowhere.example.test": []})
        yield Sites(outside, inside, resolver)
        await resolver.close()
        assert inside.requests == [], "a request reached the inside server"


async def refused(fetcher: FeedFetcher, url: str) -> str:
    with pytest.raises(FetchError) as raised:
        await fetcher.fetch(url)
    return raised.value.reason


def inside_urls(port: int) -> list[str]:
    """Every way of writing an inside address that a feed (or a redirect) might use."""
    return [
        f"http://127.0.0.1:{port}/rss", f"http://[::1]:{port}/rss",
        f"http://[::ffff:127.0.0.1]:{port}/rss", f"http://localhost:{port}/rss",
        f"http://intranet.example.test:{port}/rss", f"http://127.1:{port}/rss",
        f"http://2130706433:{port}/rss", f"http://127.0.0.1.:{port}/rss",
        f"http://0.0.0.0:{port}/rss",
        "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/rss",
        "http://100.64.0.1/rss", "http://192.168.0.1/rss", "http://[fd00::1]/rss",
        "http://[fe80::1]/rss", "http://[64:ff9b::7f00:1]/rss",
    ]


async def test_inside_addresses_are_refused_without_a_request(sites: Sites) -> None:
    fetcher = FeedFetcher(TIMING, resolver=sites.resolver)  # the real policy
    try:
        for url in inside_urls(sites.port):
            assert await refused(fetcher, url) == NOT_PUBLIC, url
    finally:
        await fetcher.close()


async def test_a_public_feed_that_redirects_inside_is_refused(sites: Sites) -> None:
    sites.outside.serve("/rss", rss([STORY]))
    fetcher = sites.fetcher()
    try:
        # The outside server is reachable: what follows is refused for where it leads.
        fetched = await fetcher.fetch(sites.public_url("/rss"))
        assert fetched is not None and b"A story" in fetched.body
        for target in inside_urls(sites.port):
            sites.outside.redirect("/moved", target)
            assert await refused(fetcher, sites.public_url("/moved")) == NOT_PUBLIC, target
        # Two hops: outside, outside again, then inside.
        sites.outside.redirect("/hop1", sites.public_url("/hop2"))
        sites.outside.redirect("/hop2", f"http://127.0.0.1:{sites.port}/rss")
        assert await refused(fetcher, sites.public_url("/hop1")) == NOT_PUBLIC
        assert len(sites.outside.hits("/hop2")) == 1
    finally:
        await fetcher.close()


async def test_only_the_checked_answer_of_a_name_is_connected_to(sites: Sites) -> None:
    sites.outside.serve("/rss", rss([STORY]))
    sites.inside.serve("/rss", rss([STORY], title="Inside"))
    # Inside address first: without the check it is the one connected to.
    sites.resolver.table["feeds.example.test"] = ["127.0.0.1", "127.0.0.2"]
    fetcher = sites.fetcher()
    try:
        fetched = await fetcher.fetch(sites.public_url("/rss"))
        assert fetched is not None and b"Generated Feed" in fetched.body
        # DNS rebinding: the same name now answers an inside address. A new session (no
        # cached lookup, no kept-alive connection) looks it up again and is refused.
        sites.resolver.table["feeds.example.test"] = ["127.0.0.1"]
        await fetcher.close()
        assert await refused(fetcher, sites.public_url("/rss")) == NOT_PUBLIC
        assert sites.resolver.lookups.count("feeds.example.test") == 2
    finally:
        await fetcher.close()


async def test_failures_to_connect_read_the_same_as_refusals(sites: Sites) -> None:
    with socket.socket() as probe:  # a port on the outside address where nothing listens
        probe.bind(("127.0.0.2", 0))
        closed_port = probe.getsockname()[1]
    fetcher = sites.fetcher()
    try:
        answers = {
            "refused address": await refused(fetcher, f"http://127.0.0.1:{sites.port}/rss"),
            "nothing listening": await refused(
                fetcher, f"http://feeds.example.test:{closed_port}/rss"),
            "no such name": await refused(fetcher, f"http://nowhere.example.test:{sites.port}/"),
        }
    finally:
        await fetcher.close()
    assert set(answers.values()) == {NOT_PUBLIC}, answers


async def test_a_proxy_from_the_environment_is_not_used(sites: Sites,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a proxy, the proxy would look the name up and connect: past every check."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.2:{sites.port}")
    sites.outside.serve("/rss", rss([STORY]))  # what the "proxy" would answer
    fetcher = sites.fetcher()
    try:
        assert await refused(fetcher, f"http://intranet.example.test:{sites.port}/rss") == (
            NOT_PUBLIC)
    finally:
        await fetcher.close()
    assert sites.outside.requests == []


async def test_allow_private_turns_the_check_off(sites: Sites) -> None:
    sites.inside.serve("/rss", rss([STORY], title="Inside"))
    fetcher = FeedFetcher(TIMING, allow_private=True, resolver=sites.resolver)
    try:
        fetched = await fetcher.fetch(f"http://intranet.example.test:{sites.port}/rss")
        assert fetched is not None and b"Inside" in fetched.body
    finally:
        await fetcher.close()
    sites.inside.requests.clear()  # reached on purpose


# ---- through /news feed add, on the real bot ---------------------------------------------------

@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The bot as deployed: FEEDS_ALLOW_PRIVATE_ADDRESSES unset."""
    return dataclasses.replace(settings, feeds_allow_private_addresses=False)


async def test_news_feed_add_refuses_inside_addresses_with_one_answer(harness: Harness,
                                                                      sites: Sites) -> None:
    h, emu = harness, harness.emu
    sites.inside.serve("/rss", rss([STORY]))
    reasons = set()
    for url in inside_urls(sites.port):
        if "example.test" in url:
            continue  # a made-up name: the bot's own resolver cannot look it up
        answer = await emu.invoke("news feed add", {"url": url}, guild_id=h.guild_id,
                                  user="owner")
        assert answer.ephemeral and NOT_PUBLIC in answer.content, (url, answer.content)
        reasons.add(answer.content.replace(url, "<url>"))
    assert len(reasons) == 1, reasons
    assert await h.store.feeds.feeds() == []


async def test_news_feed_add_refuses_a_feed_that_redirects_inside(harness: Harness,
                                                                  sites: Sites) -> None:
    """The bot's own wiring, with the stand-ins for a public site swapped into its fetcher."""
    h, emu = harness, harness.emu
    poller = poller_of(h)
    assert poller.fetcher.allow_private is False  # FEEDS_ALLOW_PRIVATE_ADDRESSES unset
    await poller.fetcher.close()
    poller.fetcher = sites.fetcher()
    sites.inside.serve("/rss", rss([STORY]))
    sites.outside.redirect("/moved", f"http://127.0.0.1:{sites.port}/rss")
    answer = await emu.invoke("news feed add", {"url": sites.public_url("/moved")},
                              guild_id=h.guild_id, user="owner")
    assert answer.ephemeral and NOT_PUBLIC in answer.content, answer.content
    assert await h.store.feeds.feeds() == []

    # A feed followed while it was outside, that later redirects inside, fails the same way.
    sites.outside.serve("/rss", rss([STORY]))
    added = await emu.invoke("news feed add", {"url": sites.public_url("/rss")},
                             guild_id=h.guild_id, user="owner")
    assert added.content.startswith("Now following"), added.content
    sites.outside.redirect("/rss", f"http://localhost:{sites.port}/rss")
    [polled] = await poll_later(h, seconds=901)
    assert polled.outcome == "failed" and polled.error == NOT_PUBLIC
