"""The scripted server under every fake AI vendor (openai_api, anthropic_api, gemini_api,
cohere_api): real HTTP/1.1 with keep-alive on 127.0.0.1, an asyncio loop on its own
thread, so sync tests, asyncio tests and a benchmark in another process can all use it.

Each call that passes the vendor's auth and shape checks takes the next scripted reply,
or `default` once the script is used up; each style renders the reply in its vendor's
wire format. Every request is recorded (`requests`), the refused ones too.

    with FakeOpenAI() as fake:
        fake.script(rate_limited(retry_after=2), ok("Hello"))
        client = make_client("openai", http, fake.base_url, fake.key)
        ...
        assert fake.count("/chat/completions") == 2

Replies: `ok(text)`, `rate_limited(retry_after=, retry_after_ms=)`, `quota_exhausted(variant)`,
`server_error(status)`, `overloaded()`, `slow(seconds, then=)`, `hang()` (no answer until
the fake closes), `malformed()` (200 with broken JSON or a broken event), `stream_cut(after=n)`
(n text pieces, then the connection closes without the stream's end; `clean=True` ends
the HTTP body properly instead), `stream_error(after=n, error=)` (the vendor's mid-stream
error event), `context_too_long()`, `not_found()`. A stream sends `ok`'s text a word at a
time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import http
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

import msgspec

KEY = "sk-fake-0123456789abcdef"
"""The key a fake accepts unless it is given another."""


@dataclass(frozen=True)
class Ok:
    text: str = "Hello from the fake vendor."
    prompt_tokens: int = 12
    completion_tokens: int | None = None
    """None: one per streamed piece (word)."""
    model: str | None = None
    """The model the answer names; None echoes the requested one."""


@dataclass(frozen=True)
class RateLimited:
    retry_after: float | None = 1.0
    retry_after_ms: float | None = None


@dataclass(frozen=True)
class QuotaExhausted:
    variant: str = ""
    """The vendor's kinds of quota (each style's module lists its own); "" the usual one."""


@dataclass(frozen=True)
class ServerError:
    status: int = 500


@dataclass(frozen=True)
class Overloaded:
    pass


@dataclass(frozen=True)
class ContextTooLong:
    pass


@dataclass(frozen=True)
class NotFound:
    pass


Failure = RateLimited | QuotaExhausted | ServerError | Overloaded | ContextTooLong | NotFound


@dataclass(frozen=True)
class Slow:
    seconds: float
    then: Reply = Ok()


@dataclass(frozen=True)
class Hang:
    pass


@dataclass(frozen=True)
class Malformed:
    pass


@dataclass(frozen=True)
class StreamCut:
    after: int = 1
    text: str = Ok.text
    clean: bool = False


@dataclass(frozen=True)
class StreamError:
    after: int = 1
    error: Failure = Overloaded()
    text: str = Ok.text


Reply = Ok | Failure | Slow | Hang | Malformed | StreamCut | StreamError

ok, rate_limited, quota_exhausted, server_error, overloaded = (
    Ok,
    RateLimited,
    QuotaExhausted,
    ServerError,
    Overloaded,
)
slow, hang, malformed, stream_cut, stream_error = Slow, Hang, Malformed, StreamCut, StreamError
context_too_long, not_found = ContextTooLong, NotFound


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Names in lower case."""
    body: Any
    """The parsed JSON body; None when there is none or it is not JSON."""
    at: float
    """time.monotonic() on arrival."""
    connection: int
    """Which connection it came on (1, 2, ... in the order they were opened)."""


@dataclass(frozen=True)
class Call:
    """A request the vendor accepted: what it asks for."""

    kind: str  # "chat" | "stream" | "models"
    model: str = ""
    body: Any = None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes | Sequence[bytes] = b""
    """One body, or a stream's chunks (sent with chunked transfer encoding)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    cut: bool = False
    """Close the connection mid-answer: half the body, or the chunks without the last."""


def as_json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Answer:
    return Answer(status, msgspec.json.encode(payload), headers or {})


def pieces(text: str) -> list[str]:
    """`text` a word (with its trailing space) at a time: what a stream sends."""
    return re.findall(r"\S+\s*|\s+", text)


_REASONS = {529: "Overloaded"}


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's where it is installed: ~50 µs less per request than asyncio's own."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class FakeVendor:
    """The server; a style's subclass routes requests and renders replies."""

    style = ""
    prefix = ""
    """The vendor's base path, which `base_url` includes ("/v1" for OpenAI)."""
    models: Sequence[str] = ()
    page_size = 1000
    """The most models one page of the model list holds (lower it to test paging)."""
    quota_variants: tuple[str, ...] = ("",)
    """The `quota_exhausted(variant)`s the style knows."""

    def __init__(self, key: str = KEY, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.key = key
        self.host = host
        self.port = port
        self.default: Reply = Ok()
        self.requests: list[Request] = []
        self._script: collections.deque[Reply] = collections.deque()
        self._loop = _new_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._closing = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._connections = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.prefix}"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next calls, before `default`."""
        for reply in replies:
            if isinstance(reply, QuotaExhausted) and reply.variant not in self.quota_variants:
                raise ValueError(f"{self.style} has no quota variant {reply.variant!r}")
        self._script.extend(replies)

    def count(self, path_part: str = "") -> int:
        """How many requests were made to paths containing `path_part`."""
        return sum(path_part in r.path for r in self.requests)

    # What a style defines.
    def headers(self) -> dict[str, str]:
        """The headers of every answer (request id, rate limits), under the answer's own."""
        return {}

    def route(self, request: Request) -> Call | Answer:
        raise NotImplementedError

    def completion(self, reply: Ok, call: Call) -> Answer:
        raise NotImplementedError

    def stream_parts(self, reply: Ok, call: Call) -> tuple[list[bytes], list[bytes], list[bytes]]:
        """The stream's opening events, one event per text piece, and its closing events."""
        raise NotImplementedError

    def model_list(self, request: Request) -> Answer:
        raise NotImplementedError

    def failure(self, reply: Failure, call: Call) -> Answer:
        raise NotImplementedError

    def error_event(self, reply: Failure, call: Call) -> bytes:
        raise NotImplementedError

    def page(self, start: int) -> tuple[list[str], int | None]:
        """The model names from `start` and where the next page starts, if any."""
        end = start + self.page_size
        return list(self.models[start:end]), end if end < len(self.models) else None

    def render(self, reply: Reply, call: Call, request: Request) -> Answer:
        streamed = call.kind == "stream"
        match reply:
            case Ok() if call.kind == "models":
                return self.model_list(request)
            case Ok() if streamed:
                head, body, tail = self.stream_parts(reply, call)
                return self._events(200, [*head, *body, *tail])
            case Ok():
                return self.completion(reply, call)
            case StreamCut() if streamed:
                head, body, _ = self.stream_parts(Ok(reply.text), call)
                return self._events(200, [*head, *body[: reply.after]], cut=not reply.clean)
            case StreamCut():
                return Answer(200, self.completion(Ok(reply.text), call).body, cut=True)
            case StreamError() if streamed:
                head, body, _ = self.stream_parts(Ok(reply.text), call)
                error = self.error_event(reply.error, call)
                return self._events(200, [*head, *body[: reply.after], error])
            case StreamError():
                return self.failure(reply.error, call)
            case Malformed() if streamed:
                return self._events(200, [b'data: {"broken": \n\n'])
            case Malformed():
                return Answer(200, b'{"id": "broken", "choices": [')
            case (
                RateLimited()
                | QuotaExhausted()
                | ServerError()
                | Overloaded()
                | ContextTooLong()
                | NotFound()
            ):
                return self.failure(reply, call)
        raise TypeError(f"cannot render {reply!r}")

    def _events(self, status: int, chunks: list[bytes], cut: bool = False) -> Answer:
        return Answer(status, chunks, content_type="text/event-stream", cut=cut)

    async def _answer(self, request: Request) -> Answer | None:
        routed = self.route(request)
        if isinstance(routed, Answer):
            answer = routed
        else:
            reply = self._script.popleft() if self._script else self.default
            while isinstance(reply, Slow):
                await asyncio.sleep(reply.seconds)
                reply = reply.then
            if isinstance(reply, Hang):
                await self._closing.wait()
                return None
            answer = self.render(reply, routed, request)
        return dataclasses.replace(answer, headers={**self.headers(), **answer.headers})

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        connection = self._connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                size = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(size) if size else b""
                try:
                    body = msgspec.json.decode(raw) if raw else None
                except msgspec.DecodeError:
                    body = None
                path, _, query = target.partition("?")
                request = Request(
                    method,
                    path,
                    dict(parse_qsl(query)),
                    headers,
                    body,
                    time.monotonic(),
                    connection,
                )
                self.requests.append(request)
                answer = await self._answer(request)
                if answer is None:
                    return
                await self._write(writer, answer)
                if answer.cut or headers.get("connection", "").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, answer: Answer) -> None:
        reason = _REASONS.get(answer.status) or http.HTTPStatus(answer.status).phrase
        head = [f"HTTP/1.1 {answer.status} {reason}", f"content-type: {answer.content_type}"]
        head += [f"{name}: {value}" for name, value in answer.headers.items()]
        if isinstance(answer.body, bytes):
            body = answer.body[: len(answer.body) // 2] if answer.cut else answer.body
            head.append(f"content-length: {len(answer.body)}")
            writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + body)
        else:
            head.append("transfer-encoding: chunked")
            writer.write("\r\n".join(head).encode() + b"\r\n\r\n")
            for chunk in answer.body:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if not answer.cut:
                writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.close()
        await asyncio.sleep(0)  # the hanging calls see `_closing` and close their connections
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


def main(fake: type[FakeVendor], description: str | None) -> None:  # pragma: no cover
    """A style module's `python -m` entry: serve until killed, having printed the base URL."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default=KEY)
    parser.add_argument(
        "--fail", type=int, default=None, metavar="STATUS", help="answer every call with it"
    )
    parser.add_argument("--text", default=None, help="answer every completion with this text")
    args = parser.parse_args()
    with fake(args.key, port=args.port) as server:
        if args.fail is not None:
            server.default = ServerError(args.fail)
        elif args.text is not None:
            server.default = Ok(args.text)
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server._thread.join()
