"""One GET to the site: scope-checked, paced, bounded.

The host is checked against the scan scope before it is resolved, and what it resolves
to (the event loop's getaddrinfo) before a packet is sent. The request then goes to that
checked address, with the host name in `Host` and in the TLS SNI, so a second lookup
(DNS rebinding) cannot send it anywhere else. Redirects are not followed here: the
crawler decides about each Location like about any other link.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from actors.agents.scope import Scopes

MAX_BODY = 2 * 1024 * 1024
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


class FetchError(Exception):
    """No response: refused, reset, timed out, or the name did not resolve."""


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: httpx.Headers
    content_type: str | None
    body: bytes | None
    """Read for HTML (or when asked); None otherwise."""
    encoding: str
    truncated: bool
    location: str | None
    """The raw Location of a redirect."""

    def text(self) -> str:
        body = self.body or b""
        try:
            return body.decode(self.encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            return body.decode("utf-8", errors="replace")


class Gate:
    """Politeness for one host: `concurrency` requests in flight, starts `delay` s apart."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.delay = delay
        """May grow once robots.txt is read (Crawl-delay); counts from the last start."""
        self._slots = asyncio.Semaphore(concurrency)
        self._turn = asyncio.Lock()
        self._last = float("-inf")

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            async with self._turn:
                loop = asyncio.get_running_loop()
                wait = self._last + self.delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last = loop.time()
            yield


class Fetcher:
    def __init__(
        self,
        client: httpx.AsyncClient,
        scopes: Scopes,
        gate: Gate,
        user_agent: str,
        timeout: float,
    ) -> None:
        self.client = client
        self.scopes = scopes
        self.gate = gate
        self.user_agent = user_agent
        self.timeout = timeout
        self.requests = 0
        self._addresses: dict[str, str] = {}

    async def address(self, host: str) -> str:
        """A scope-checked address for `host`; raises OutOfScope before any packet."""
        cached = self._addresses.get(host)
        if cached is not None:
            return cached
        self.scopes.network.check_host("target", host)
        try:
            address = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, None, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                )
            except OSError as e:
                raise FetchError(f"{host} did not resolve: {e}") from None
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
            self.scopes.network.check_addresses("target", host, addresses)
            address = addresses[0]
        self._addresses[host] = address
        return address

    async def get(self, url: str, *, always_read: bool = False) -> Fetched:
        parts = httpx.URL(url)
        address = await self.address(parts.host)
        headers = {
            "Host": parts.netloc.decode("ascii"),
            "User-Agent": self.user_agent,
            "Accept": _ACCEPT,
        }
        extensions = {}
        if parts.scheme == "https" and address != parts.host:
            extensions["sni_hostname"] = parts.host
        async with self.gate.slot():
            self.requests += 1
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._get(
                        parts.copy_with(host=address), headers, extensions, always_read
                    )
            except TimeoutError:
                raise FetchError(f"no response within {self.timeout:g} s") from None
            except httpx.HTTPError as e:
                raise FetchError(f"{type(e).__name__}: {e}".rstrip(": ")) from None

    async def _get(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        extensions: dict[str, str],
        always_read: bool,
    ) -> Fetched:
        async with self.client.stream(
            "GET", url, headers=headers, extensions=extensions
        ) as response:
            content_type = response.headers.get("Content-Type")
            media = content_type.split(";", 1)[0].strip().lower() if content_type else None
            body: bytes | None = None
            truncated = False
            if always_read or (media in HTML_TYPES and response.status_code not in _REDIRECTS):
                chunks = bytearray()
                async for chunk in response.aiter_bytes():
                    chunks += chunk
                    if len(chunks) > MAX_BODY:
                        truncated = True
                        del chunks[MAX_BODY:]
                        break
                body = bytes(chunks)
            return Fetched(
                status=response.status_code,
                headers=response.headers,
                content_type=media,
                body=body,
                encoding=response.charset_encoding or "utf-8",
                truncated=truncated,
                location=(
                    response.headers.get("Location") if response.status_code in _REDIRECTS else None
                ),
            )
