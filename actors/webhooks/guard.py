"""The SSRF guard: a webhook goes only to a host inside AMAS_WEBHOOK_ALLOW, checked when
the URL is registered and again at every delivery, before a packet is sent.

* `check_url` (registration): http or https, no user:password@, a host; a host name must
  be one of the allow-list's names (before anything is resolved), a literal IP inside its
  CIDRs. IPv4 spelled oddly (`127.1`, `0x7f.0.0.1`, `2130706433`) is refused: resolvers
  read it as an address, though it looks like a name.
* `resolve` (delivery): the name is resolved once and EVERY address checked against the
  CIDRs; one outside refuses the delivery (a name answering both a public and an internal
  address is how DNS rebinding gets in). The transport then connects to the pinned
  address and never resolves again.
* IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is read as the IPv4 address it reaches, in URLs, in
  answers and in the allow-list itself (`::ffff:a00:0/104` becomes `10.0.0.0/8`), so a
  mapped spelling neither slips past an IPv4 entry nor passes under an IPv6 one.

The allow-list is the operator's choice and the guard adds no ranges of its own: the
default (loopback) allows nothing outside this host. An operator widening it should name
the receivers' addresses or names, not broad ranges: `0.0.0.0/0` or `::/0` would also let
in what OWASP's SSRF cheat sheet says to keep out: 127.0.0.0/8 and ::1 (this host),
0.0.0.0/8 (also this host, on Linux), 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16,
169.254.0.0/16 (cloud metadata at 169.254.169.254), 168.63.129.16 (Azure's),
100.64.0.0/10 (CGNAT, Tailscale), 198.18.0.0/15, 240.0.0.0/4, fe80::/10, fc00::/7,
64:ff9b::/96 (NAT64, which reaches IPv4, metadata included) and 2002::/16 (6to4).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import msgspec

from actors.agents.scope import Address, Network, NetworkScope
from actors.errors import ActorsError

DEFAULT_ALLOW = "127.0.0.0/8,::1,localhost"
DEFAULT_PORTS = {"http": 80, "https": 443}
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_ODD_IPV4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}")
_PATH_CHARS = re.compile(r"[!-~]*")
"""Printable ASCII without the space: what a request line can carry as it is."""

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""(host, port) -> the addresses it resolves to; the default asks getaddrinfo."""


class Refused(ActorsError, PermissionError):
    """A webhook URL outside AMAS_WEBHOOK_ALLOW or not fit to send to (design.md,
    "Safety rails"): refused before a packet is sent."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"webhook URL {url!r} refused: {reason}")
        self.url = url
        self.reason = reason


class NotResolved(ActorsError, OSError):
    """A delivery's host name did not resolve (now): worth a retry, unlike Refused."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"webhook host {host!r} did not resolve: {reason}")
        self.host = host
        self.reason = reason


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A checked webhook URL, in the parts a request needs."""

    scheme: str
    host: str
    """Lower case; an IPv6 address without brackets."""
    port: int
    path_qs: str
    """The request target: the path (at least "/") and `?query`, never the fragment."""

    @property
    def authority(self) -> str:
        """The Host header's value: the host, bracketed if IPv6, and a non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path_qs}"


class Pinned(msgspec.Struct, frozen=True, kw_only=True):
    """A target with the one address (checked) that this delivery connects to."""

    target: Target
    address: str


def parse_allow(text: str | None) -> NetworkScope:
    """AMAS_WEBHOOK_ALLOW: CIDRs and host names (`*.example.com` for its subdomains),
    comma-separated; None means loopback only. ValueError names a bad entry."""
    try:
        scope = NetworkScope.parse(text if text is not None else DEFAULT_ALLOW)
    except ValueError as e:
        raise ValueError(f"AMAS_WEBHOOK_ALLOW: {e}") from None
    return NetworkScope(tuple(_unmapped_network(n) for n in scope.networks), scope.names)


def check_url(url: str, allow: NetworkScope) -> Target:
    """The parts of `url` if a webhook may be sent there; Refused says why not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise Refused(_shown(url), f"not a URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused(_shown(url), "only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise Refused(_shown(url), "a user name or password in the URL is not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refused(url, "the URL has no host")
    if port == 0:
        raise Refused(url, "port 0 is not a port to send to")
    path_qs = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _PATH_CHARS.fullmatch(path_qs):
        raise Refused(url, "the path and query must be printable ASCII (percent-encode the rest)")
    return Target(
        scheme=scheme,
        host=_checked_host(url, host, allow),
        port=port or DEFAULT_PORTS[scheme],
        path_qs=path_qs,
    )


async def resolve(target: Target, allow: NetworkScope, resolver: Resolver | None = None) -> Pinned:
    """The address to deliver to, after checking the host and every address it has now
    against `allow` (which may have changed since the URL was registered)."""
    host = _checked_host(target.url, target.host, allow)
    if _literal(host) is not None:
        return Pinned(target=target, address=host)
    try:
        answers = await (resolver or _getaddrinfo)(host, target.port)
    except OSError as e:
        raise NotResolved(host, str(e) or type(e).__name__) from e
    if not answers:
        raise NotResolved(host, "no address")
    addresses = []
    for answer in answers:
        address = _literal(answer.partition("%")[0])  # a link-local answer's %zone
        if address is None or not allow.allows_address(address):
            raise Refused(target.url, f"{host} resolves to {answer}, outside AMAS_WEBHOOK_ALLOW")
        addresses.append(address)
    return Pinned(target=target, address=str(addresses[0]))


def _checked_host(url: str, host: str, allow: NetworkScope) -> str:
    """`host` (of `url`), normalised, if `allow` lets it in."""
    host = host.lower()
    if "%" in host:
        raise Refused(url, "an IPv6 zone index (%...) is not allowed")
    address = _literal(host)
    if address is not None:
        if not allow.allows_address(address):
            raise Refused(url, f"{address} is outside AMAS_WEBHOOK_ALLOW")
        return str(address)
    if not host.isascii():
        raise Refused(url, "write a non-ASCII host name in its xn-- (IDNA) form")
    if _ODD_IPV4.fullmatch(host):
        raise Refused(url, f"{host!r} is an IPv4 address in a non-standard form")
    if not allow.allows_name(host):
        raise Refused(url, f"the host {host!r} is not in AMAS_WEBHOOK_ALLOW")
    return host


def _literal(host: str) -> Address | None:
    """`host` as an IP address (IPv4-mapped IPv6 as its IPv4), None if it is a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _unmapped_network(network: Network) -> Network:
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_MAPPED):
        start = int(network.network_address) - int(_MAPPED.network_address)
        return ipaddress.IPv4Network((start, network.prefixlen - 96))
    return network


def _shown(url: str) -> str:
    """`url` with any user:password@ hidden: a refusal's message may be logged."""
    scheme, sep, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    if sep and "@" in authority:
        return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{tail}"
    return url


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """The system resolver, on the loop's executor (it blocks)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]
