"""A scripted webhook receiver on a loopback address, for the webhook tests and benchmarks.

Real HTTP/1.1 with keep-alive (optionally over TLS), on an asyncio loop (uvloop where
installed) on its own thread, so sync tests, asyncio tests and a benchmark in another
process can all use it. Every request is recorded (method, path, lower-cased headers,
raw body, arrival time, which connection), and `connections` counts the connections
accepted: a test proves that nothing reached it by `connections == 0`.

Each request takes the next scripted reply for its path, else the next one scripted for
any path, else its path's entry in `routes`, else `default` (200, empty body):

    with WebhookReceiver() as receiver:
        receiver.script(fail(500), throttled(30), ok())
        receiver.routes["/gone"] = gone()
        ... deliver to receiver.url("/hook") ...
        assert [r.path for r in receiver.requests] == ["/hook"] * 3

Replies: `ok()`, `fail(status)`, `gone()` (410), `redirect(location, status=302)`,
`throttled(retry_after, status=429)`, `slow(seconds, then=ok())`, `hang()` (no answer
until the receiver closes), `huge(size, chunked=False)` (a body of `size` bytes; None: a
chunked body that never ends), or any `Reply(...)`; `Reply(close=True)` hangs up after
answering without saying so (a server whose keep-alive timer ran out), and
`Reply(unframed=True)` ends its body by closing the connection (no length, not chunked).

`python -m tests.fakes.webhook_receiver --port 0` serves in its own process (the
benchmark's receiver) and prints its URL on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import http
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import msgspec

_PIECE = b"x" * 65536


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering: a slow receiver."""
    hang: bool = False
    """Never answer: the connection stays open until the receiver closes."""
    size: int | None = 0
    """A body of this many bytes ("x"), sent in 64 KiB writes, instead of `body`; None:
    a chunked body that never ends (until the client hangs up)."""
    chunked: bool = False
    close: bool = False
    """Close the connection after answering, without a `connection: close` header."""
    unframed: bool = False
    """Neither Content-Length nor chunked: the body ends where the connection does."""


def ok() -> Reply:
    return Reply()


def fail(status: int = 500, body: bytes = b'{"error": "failed"}') -> Reply:
    return Reply(status, body, {"content-type": "application/json"})


def gone() -> Reply:
    return Reply(410)


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, headers={"location": location})


def throttled(retry_after: str | float, status: int = 429) -> Reply:
    value = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
    return Reply(status, headers={"retry-after": value})


def slow(seconds: float, then: Reply | None = None) -> Reply:
    return dataclasses.replace(then or Reply(), delay=seconds)


def hang() -> Reply:
    return Reply(hang=True)


def huge(size: int | None = 16 * 1024 * 1024, chunked: bool = False) -> Reply:
    return Reply(size=size, chunked=chunked or size is None)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """With the query, as sent."""
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes
    at: float
    """time.monotonic() on arrival (the end of the body)."""
    connection: int
    """Which connection it came on (1, 2, ... in the order they were opened)."""

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class WebhookReceiver:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.default = Reply()
        self.routes: dict[str, Reply] = {}
        """Per path (without the query): the reply when nothing is scripted for it."""
        self.requests: list[Request] = []
        self.connections = 0
        self._scripts: dict[str | None, collections.deque[Reply]] = {}
        self._loop = _new_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._closing = asyncio.Event()
        self._server: asyncio.Server | None = None

    def url(self, path: str = "/hook") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def script(self, *replies: Reply, path: str | None = None) -> None:
        """Queue replies for the next requests to `path` (None: to any path)."""
        self._scripts.setdefault(path, collections.deque()).extend(replies)

    async def received(self, count: int, timeout: float = 10.0) -> list[Request]:
        """The requests once there are at least `count` (TimeoutError after `timeout`)."""
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:  # noqa: ASYNC110 (they arrive on another loop)
                await asyncio.sleep(0.005)
        return list(self.requests)

    def _reply(self, path: str) -> Reply:
        route = path.partition("?")[0]
        for queue in (self._scripts.get(route), self._scripts.get(None)):
            if queue:
                return queue.popleft()
        return self.routes.get(route, self.default)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                size = int(headers.get("content-length") or 0)
                body = await reader.readexactly(size) if size else b""
                self.requests.append(
                    Request(method, path, headers, body, time.monotonic(), connection)
                )
                reply = self._reply(path)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.hang:
                    await self._closing.wait()
                    return
                await self._write(writer, reply)
                if (
                    reply.close
                    or reply.unframed
                    or headers.get("connection", "").lower() == "close"
                ):
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, reply: Reply) -> None:
        head = [f"HTTP/1.1 {reply.status} {http.HTTPStatus(reply.status).phrase}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        body = reply.body if not reply.size else b""
        if reply.chunked:
            head.append("transfer-encoding: chunked")
        elif not reply.unframed:
            head.append(f"content-length: {reply.size or len(body)}")
        writer.write("\r\n".join(head).encode() + b"\r\n\r\n")
        if reply.size is None or reply.size:
            left = reply.size
            while left is None or left > 0:
                piece = _PIECE if left is None else _PIECE[:left]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece)
                await writer.drain()
                left = None if left is None else left - len(piece)
            if reply.chunked:
                writer.write(b"0\r\n\r\n")
        elif reply.chunked:
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n")
        else:
            writer.write(body)
        await writer.drain()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, ssl=self.tls
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
        await asyncio.sleep(0)  # the hanging requests see `_closing` and close
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result()
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def main() -> None:  # pragma: no cover - the benchmark's receiver
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--status", type=int, default=200, help="answer every request with it")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    with WebhookReceiver(args.host, args.port) as receiver:
        receiver.default = Reply(args.status, delay=args.delay)
        print(receiver.url("/hook"), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            receiver._thread.join()


if __name__ == "__main__":
    main()
