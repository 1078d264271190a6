"""A minimal HTTP/1.1 client for load generators: keep-alive connections on asyncio protocols.

On a 2-core machine the benchmark's load generator shares the CPU with the node it
measures, so it must cost little: httpx spends ~1-2 ms of CPU per request (more than a
simple route costs the node), this client ~0.1 ms (bench/edge.py: ~9% of a core at
~900 requests/s on uvloop). It does only what a benchmark needs:

* the caller builds each request's bytes itself (`build_request`, or once and reuses
  them): the client only writes them;
* one request in flight per connection (no pipelining); keep-alive, no redirects,
  no cookies, no TLS, no proxy, no decompression;
* answers must carry a `Content-Length` body (chunked ones are refused: the connection
  is closed and the request fails with `ValueError`); after an answer with
  `connection: close` the connection counts as closed.

An answer is `Answer(status, head, body)`: `head` is the status line and the headers,
lowercased, as received (`b"http/1.1 201 created\\r\\ncontent-length: 52\\r\\n..."`,
without the blank line), so that `head.find(b"\\r\\nx-name: ")` finds a header cheaply;
`header(head, b"x-name")` returns one value. `Pool` lends out `size` connections one
request at a time and reconnects the ones the server (or a timeout) closed.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple, cast

__all__ = ["Answer", "Connection", "Pool", "build_request", "connect", "header"]

_LENGTH_HEADER = b"\r\ncontent-length:"


class Answer(NamedTuple):
    status: int
    head: bytes
    """status line and headers, lowercased, CRLF-separated, without the final blank line"""
    body: bytes


def header(head: bytes, name: bytes) -> bytes | None:
    """The value of header `name` (lowercase, without the colon) in an answer's head, or None."""
    at = head.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    stop = head.find(b"\r\n", start)
    return head[start : stop if stop >= 0 else len(head)].strip()


def build_request(
    method: str, path: str, host: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """The bytes of one HTTP/1.1 request; Content-Length is added when there is a body
    (or the method is POST/PUT/PATCH)."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, Content-Length bodies.

    Made by `connect()` (or `loop.create_connection(Connection, ...)`). `request()`
    writes prebuilt bytes and returns a future of the `Answer`. A lost connection, a
    malformed answer or a timeout fails the pending future and closes the connection
    (`closed` is then true): a new one must be made.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.lost: Exception | None = None

    @property
    def closed(self) -> bool:
        return self.lost is not None or self.transport is None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost is None:
            self.lost = exc or ConnectionError("the server closed the connection")
        self._fail(self.lost)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(_LENGTH_HEADER)
        if at < 0:
            self._break(ValueError(f"an answer without Content-Length: {head[:200]!r}"))
            return
        stop = head.find(b"\r\n", at + 2)
        try:
            length = int(head[at + len(_LENGTH_HEADER) : stop if stop >= 0 else len(head)])
            status = int(head[9:12])
        except ValueError:
            self._break(ValueError(f"a malformed answer: {head[:200]!r}"))
            return
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(Answer(status, head, body))
        if head.find(b"\r\nconnection: close") >= 0:  # the server is done with it: so are we
            self.lost = ConnectionError("closed by the server (connection: close)")
            self.close()

    def request(self, data: bytes, timeout: float | None = None) -> asyncio.Future[Answer]:
        """Write one prebuilt request; the future gets its answer. At most one at a time."""
        if self.lost is not None or self.transport is None:
            raise self.lost or ConnectionError("not connected")
        if self.waiter is not None and not self.waiter.done():
            raise RuntimeError("a request is already in flight on this connection")
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        if timeout is not None:
            self.timer = loop.call_later(timeout, self._expire, timeout)
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _expire(self, timeout: float) -> None:
        self.timer = None
        self._break(TimeoutError(f"no answer within {timeout:g} s"))

    def _break(self, error: Exception) -> None:
        """The connection's state is unknown: fail the request and close the connection."""
        if self.lost is None:
            self.lost = error
        self._fail(error)
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)


async def connect(host: str, port: int) -> Connection:
    _, protocol = await asyncio.get_running_loop().create_connection(Connection, host, port)
    return protocol


class Pool:
    """`size` keep-alive connections to one server, each lent out for one request at a
    time; a closed one is replaced by a new connection when next lent out."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.idle: asyncio.Queue[Connection] = asyncio.Queue()
        self.connections: list[Connection] = []

    async def open(self) -> None:
        """Connect all `size` connections now (before a clock starts)."""
        for _ in range(self.size):
            connection = await connect(self.host, self.port)
            self.connections.append(connection)
            self.idle.put_nowait(connection)

    async def fetch(self, data: bytes, timeout: float | None = None) -> Answer:
        """Send one prebuilt request on the next free connection; wait for its answer."""
        connection = await self.idle.get()
        try:
            if connection.closed:
                fresh = await connect(self.host, self.port)
                self.connections.remove(connection)
                self.connections.append(fresh)
                connection = fresh
            return await connection.request(data, timeout)
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.connections.clear()
