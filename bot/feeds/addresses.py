"""Which IP addresses a feed fetch may connect to: the public internet only.

A feed address (or any redirect it sends) must not make the bot reach into its own network:
loopback, private ranges, the cloud metadata address 169.254.169.254, carrier-grade NAT and the
like. Three checks, each at a point an attacker cannot route around:

- `PublicOnlyResolver` wraps aiohttp's resolver: every host name is resolved once, addresses
  that are not public are dropped, and aiohttp connects only to what is left. The address that
  was checked is the address that is connected to, so a name that answers a public address to
  a first lookup and 127.0.0.1 to a second (DNS rebinding) gains nothing: there is no second
  lookup between the check and the connection.
- `literal_address` reads an IP written in the URL itself (aiohttp connects to those without
  asking the resolver), including the legacy forms `127.1` and `2130706433`.
- `guarded_socket_factory` is the last word: aiohttp creates every outgoing socket through it,
  with the exact address about to be connected, so anything that slipped past the two above
  (a future aiohttp path that skips the resolver, say) still cannot connect.

Every refusal reads the same (`NOT_PUBLIC`), and so does every failure to reach a host, so the
answers cannot be used to learn what listens where.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
# What getaddrinfo gives and aiohttp's socket_factory receives: (family, type, proto,
# canonname, sockaddr). Spelt out here rather than imported from aiohappyeyeballs, which is
# aiohttp's dependency, not ours.
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]

# One answer for "refused" and "could not connect" alike: different answers for "nothing
# listens there", "no such name" and "that address is private" would let an owner (or whoever
# talked an owner into adding a feed) map the bot's network.
NOT_PUBLIC = "the address is not on the public internet or could not be reached"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# IPv4 ranges that are never a public web server, from the IANA special-purpose address
# registry. Spelt out rather than left to `ipaddress.is_global`, whose list changes between
# Python releases and which (in 3.11) calls multicast, site-local fec0::/10 and the NAT64 and
# 6to4 forms of 127.0.0.1 global.
_V4_NOT_PUBLIC = tuple(_V4(n) for n in (
    "0.0.0.0/8",  # "this network", including the unspecified 0.0.0.0
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, including cloud metadata at 169.254.169.254
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # the retired 6to4 relay anycast
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address 255.255.255.255
))

# IPv6: only global unicast (2000::/3) is handed out to the internet; everything outside it is
# loopback, unspecified, link-local, site-local, unique-local, multicast, discard or unassigned.
# The few forms outside it that carry an IPv4 address are judged by that address (below).
_V6_GLOBAL_UNICAST = _V6("2000::/3")
_V6_NOT_PUBLIC = tuple(_V6(n) for n in (
    "2001::/23",  # IETF protocol assignments: Teredo, benchmarking, ORCHID
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
))
# NAT64 well-known prefix: on an IPv6-only host behind DNS64 every IPv4-only site comes back as
# 64:ff9b::a.b.c.d, and the gateway connects to a.b.c.d, so that address decides.
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")  # 6to4: tunnelled to the IPv4 address in bits 16-48


def _public_v4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not any(ip in net for net in _V4_NOT_PUBLIC)


def is_public_address(ip: IPAddress) -> bool:
    """True only for an address on the public internet: what a feed may be fetched from."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _public_v4(ip)
    # The IPv6 spellings of an IPv4 address reach that IPv4 address: ::ffff:127.0.0.1 is
    # loopback on a dual-stack socket, 64:ff9b::7f00:1 through a NAT64 gateway.
    if ip.ipv4_mapped is not None:
        return _public_v4(ip.ipv4_mapped)
    if ip in _NAT64:
        return _public_v4(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        return _public_v4(ip.sixtofour)
    # Outside 2000::/3 that leaves IPv4-compatible (::a.b.c.d, deprecated), IPv4-translated
    # (::ffff:0:a.b.c.d), local-use NAT64 (64:ff9b:1::/48, whatever the operator maps it to)
    # and every other special range: all refused.
    if ip not in _V6_GLOBAL_UNICAST or any(ip in net for net in _V6_NOT_PUBLIC):
        return False
    return ip.is_global


def parse_address(text: str) -> IPAddress | None:
    """An IP address as getaddrinfo or a URL spells it (an IPv6 scope such as %eth0 allowed),
    or None."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL's host is, if it is one rather than a name: the standard forms,
    and the legacy IPv4 forms (127.1, 2130706433, 0x7f.0.0.1) the C library still accepts, so
    none of them is mistaken for a name."""
    found = parse_address(host)
    if found is not None:
        return found
    if host and all(c in "0123456789abcdefx." for c in host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class AddressRefused(OSError):
    """A connection to an address the policy does not allow. An OSError so that aiohttp treats
    it as any other failure to connect (and the fetcher answers NOT_PUBLIC for it)."""

    def __init__(self) -> None:
        super().__init__(NOT_PUBLIC)


def _allowed(host: str, policy: AddressPolicy) -> bool:
    ip = parse_address(host)
    return ip is not None and policy(ip)


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's own resolver, with every answer that the policy refuses dropped; a host with
    nothing left raises AddressRefused. aiohttp connects only to the addresses returned here
    (and caches only them), so what is checked is what is connected to."""

    def __init__(self, inner: AbstractResolver | None = None, *,
                 policy: AddressPolicy = is_public_address) -> None:
        # A resolver handed in belongs to whoever made it (aiohttp's own convention); the
        # default one is ours to close.
        self._owns_inner = inner is None
        self._inner = inner if inner is not None else DefaultResolver()
        self._policy = policy

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        kept = [a for a in answers if _allowed(a["host"], self._policy)]
        if not kept:
            raise AddressRefused()
        return kept

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()


def guarded_socket_factory(
        policy: AddressPolicy = is_public_address) -> Callable[[AddrInfo], socket.socket]:
    """A socket factory for aiohttp's TCPConnector that refuses, at the moment of connecting,
    any address the policy does not allow. The argument is a getaddrinfo tuple: (family, type,
    proto, canonname, sockaddr), the address to connect to first in sockaddr."""

    def make(addr_info: AddrInfo) -> socket.socket:
        family, type_, proto, _canonname, sockaddr = addr_info
        if not _allowed(str(sockaddr[0]), policy):
            raise AddressRefused()
        return socket.socket(family=family, type=type_, proto=proto)

    return make
