"""The HTTP POST of a webhook delivery, to the address the guard pinned.

A small HTTP/1.1 client on asyncio protocols with httptools (llhttp, uvicorn's parser),
because a delivery should cost little: ~40 µs of CPU a request here, against ~160 µs for
h11 on asyncio streams or aiohttp and ~1,100 µs for httpx (bench/webhook_client.py, uvloop,
8 in flight). What it does, and why:

* it connects to `pinned.address`, never to a name: no second resolution a rebinding
  DNS could answer differently. `Host:` carries the URL's host; over https the TLS
  handshake sends that name (SNI) and verifies the certificate against it;
* redirects are not followed: a 3xx is only a status (a receiver cannot bounce a
  delivery to an address the guard never checked);
* one total timeout covers connecting, TLS, sending and reading the answer;
* at most `max_response_bytes` of the answer are read, then the connection is closed:
  a receiver cannot make us buffer a large or endless body;
* connections are kept alive per (scheme, address, port, host) and reused; a reused one
  that turns out closed before any answer byte is retried once on a new one.

Errors become `Sent.error` here and nowhere else: `post` never raises for the receiver's
or the network's sake (only ValueError for headers we must not send).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import re
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import httptools
import msgspec

from actors.webhooks.guard import Pinned

EXCERPT_BYTES = 200
USER_AGENT = "AMAS-Webhooks/1"
_OURS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_MAX_IDLE_PER_KEY = 16
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_Key = tuple[str, str, int, str]
"""(scheme, address, port, host): connections are reused only for the same four."""


class Sent(msgspec.Struct, frozen=True, kw_only=True):
    """What one POST came to. A delivery succeeded when `ok`: a 2xx and no error."""

    status: int | None
    """The receiver's status; None when no answer (or no status line) came."""
    latency_ms: float
    error: str | None
    """What went wrong (connection, TLS, timeout, a malformed or cut answer); None if nothing."""
    retry_after: float | None
    """The answer's Retry-After in seconds (a date is turned into seconds from now)."""
    body_excerpt: str
    """The answer's first 200 bytes, decoded as UTF-8 with replacement."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _Cut(ConnectionError):
    """The connection ended before the answer did; `early`: before any byte of it."""

    def __init__(self, early: bool) -> None:
        super().__init__(
            "connection closed before an answer" if early else "connection closed mid-answer"
        )
        self.early = early


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time, its answer parsed by httptools."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self._reset(None)

    def _reset(self, waiter: asyncio.Future[None] | None) -> None:
        self.waiter = waiter
        self.status: int | None = None
        self.framed = False
        """The answer says where its body ends (Content-Length or chunked)."""
        self.retry_after: bytes | None = None
        self.excerpt = bytearray()
        self.received = 0
        self.complete = False
        self.keep_alive = False

    def send(self, request: bytes) -> asyncio.Future[None]:
        assert self.transport is not None
        waiter = asyncio.get_running_loop().create_future()
        self._reset(waiter)
        self.transport.write(request)
        return waiter

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.close()  # bytes nobody asked for: the connection is not to be trusted
            return
        self.received += len(data)
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as e:
            self._finish(ValueError(f"malformed answer: {e}"))
            return
        if not self.complete and self.received >= self.cap:
            # Enough: the status and the excerpt are in; the rest is never read.
            self._finish(None if self.status is not None else ValueError("answer head too large"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.status is not None and not self.framed:
            self.complete = True  # a body that ends where the connection does
            self._finish(None)
        else:
            self._finish(_Cut(early=self.received == 0))

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.complete:  # a second answer to one request: ignored, and no reuse
            self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            return
        match name.lower():
            case b"retry-after":
                self.retry_after = value
            case b"content-length":
                self.framed = True
            case b"transfer-encoding" if b"chunked" in value.lower():
                self.framed = True

    def on_headers_complete(self) -> None:
        if not self.complete:
            self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if not self.complete and len(self.excerpt) < EXCERPT_BYTES:
            self.excerpt += body[: EXCERPT_BYTES - len(self.excerpt)]

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self.status is not None and self.status < 200:  # 100 Continue: the answer follows
            self._reset(self.waiter)
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()
        self._finish(None)

    def _finish(self, error: Exception | None) -> None:
        if not self.complete or error is not None:
            self.close()  # a part of the answer is unread: nothing else can follow it here
        if self.waiter is not None and not self.waiter.done():
            if error is None:
                self.waiter.set_result(None)
            else:
                self.waiter.set_exception(error)

    def close(self) -> None:
        """Drop the connection now: nothing we wrote is still needed, and a TLS close would
        wait for the receiver's close_notify."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Transport:
    """POSTs deliveries; one per node, shared by every delivery (it pools connections).
    It opens as many connections as there are posts in flight: bounding those is the
    delivery's job."""

    def __init__(
        self,
        timeout: float = 15.0,
        max_response_bytes: int = 64 * 1024,
        *,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_expiry: float = 30.0,
    ) -> None:
        """`ssl_context`: the CAs to trust (default: the system's, names verified);
        `keepalive_expiry`: seconds an idle connection is kept for reuse."""
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._ssl_context = ssl_context
        self.keepalive_expiry = keepalive_expiry
        self._idle: dict[_Key, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        """Every connection made and not yet closed: `aclose` closes those in flight too."""
        self._swept = time.monotonic()

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """Made on the first https delivery: loading the system's CAs costs 40-150 ms
        of CPU, which a node that never delivers over https should not pay at start."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def post(self, pinned: Pinned, headers: Mapping[str, str], body: bytes) -> Sent:
        """POST `body` with `headers` to the pinned target. Whatever the network or the
        receiver does comes back as the outcome; only a header we must not send raises
        (ValueError), before anything is sent."""
        request = _request(pinned, headers, body)
        key = (pinned.target.scheme, pinned.address, pinned.target.port, pinned.target.host)
        started = time.monotonic()
        self._sweep(started)
        connection = self._reused(key)
        error: str | None = None
        try:
            async with asyncio.timeout(self.timeout):
                if connection is not None:
                    try:
                        await connection.send(request)
                    except _Cut as e:
                        if not e.early:
                            raise
                        connection = None  # closed by the receiver while idle: once more, anew
                if connection is None:
                    connection = _Connection(self.max_response_bytes)
                    self._open.add(connection)
                    await self._connect(pinned, connection)
                    await connection.send(request)
        except TimeoutError:
            error = f"timed out after {self.timeout:g} s"
        except (OSError, ValueError) as e:
            error = _described(e)
        except BaseException:  # cancelled: what was in flight cannot be reused
            if connection is not None:
                self._drop(connection)
            raise
        latency_ms = round((time.monotonic() - started) * 1000, 3)
        if connection is None:
            return Sent(
                status=None, latency_ms=latency_ms, error=error, retry_after=None, body_excerpt=""
            )
        if error is None and connection.keep_alive and not connection.closed:
            self._release(key, connection)
        else:
            self._drop(connection)
        return Sent(
            status=connection.status,
            latency_ms=latency_ms,
            error=error,
            retry_after=_retry_after(connection.retry_after),
            body_excerpt=connection.excerpt.decode("utf-8", "replace"),
        )

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                self._drop(connection)
        self._idle.clear()
        for connection in list(self._open):
            self._drop(connection)
        await asyncio.sleep(0)  # the loop finishes the closes it scheduled (a failed TLS one too)

    async def _connect(self, pinned: Pinned, connection: _Connection) -> None:
        target = pinned.target
        https = target.scheme == "https"
        await asyncio.get_running_loop().create_connection(
            lambda: connection,
            pinned.address,
            target.port,
            ssl=self.ssl_context if https else None,
            server_hostname=target.host if https else None,
        )

    def _reused(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    def _release(self, key: _Key, connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < _MAX_IDLE_PER_KEY:
            connection.idle_since = time.monotonic()
            idle.append(connection)
        else:
            self._drop(connection)

    def _sweep(self, now: float) -> None:
        """Close connections idle past `keepalive_expiry` (at most once per that period)."""
        if now - self._swept < self.keepalive_expiry:
            return
        self._swept = now
        for key, idle in list(self._idle.items()):
            kept = [c for c in idle if not c.closed and now - c.idle_since < self.keepalive_expiry]
            for connection in idle:
                if connection not in kept:
                    self._drop(connection)
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]


def _described(e: OSError | ValueError) -> str:
    """One line for `Sent.error`: what the network or the receiver did."""
    match e:
        case ssl.SSLCertVerificationError():
            return f"TLS: {e.verify_message or e}"
        case ssl.SSLError():
            return f"TLS: {e.reason or e}"
        case OSError(errno=int(number)):  # asyncio's strerror adds the address
            return os.strerror(number).lower()  # "connection refused", "no route to host"
    return str(e) or type(e).__name__


def _request(pinned: Pinned, headers: Mapping[str, str], body: bytes) -> bytes:
    lines = [
        f"POST {pinned.target.path_qs} HTTP/1.1",
        f"host: {pinned.target.authority}",
        f"content-length: {len(body)}",
    ]
    given = {name.lower() for name in headers}
    for name, value in headers.items():
        if name.lower() in _OURS or not _TOKEN.fullmatch(name) or not _fits(value):
            raise ValueError(f"header {name!r} may not be sent as given")
        lines.append(f"{name}: {value}")
    if "user-agent" not in given:
        lines.append(f"user-agent: {USER_AGENT}")
    if "content-type" not in given:
        lines.append("content-type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _fits(value: str) -> bool:
    """ASCII without CR, LF or other control characters: one header stays one line."""
    return value.isascii() and value.isprintable()


def _retry_after(value: bytes | None) -> float | None:
    """Retry-After as seconds: delay-seconds, or an HTTP-date (seconds from now, >= 0)."""
    if value is None:
        return None
    text = value.decode("latin-1").strip()
    with contextlib.suppress(ValueError):
        seconds = float(text)
        return seconds if seconds >= 0 else None
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None
