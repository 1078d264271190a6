"""The HTTP side every client shares: JSON calls and server-sent-event streams on the
caller's httpx client, each within one deadline, every failure translated by
actors.providers.errors.

A style module gives the paths, the request body and, for streams, a `StreamDecoder`
that reads its vendor's events; `Transport.stream` does the rest (Deltas, the Done, a
stream cut before its end, `started_streaming`).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, Protocol, TypeVar

import httpx
import msgspec

from actors.providers.clients.base import ChatResult, Delta, Done, StreamEvent
from actors.providers.errors import (
    ProviderError,
    RateLimits,
    from_error_event,
    from_response,
    from_transport,
    malformed,
    parse_rate_limits,
)

T = TypeVar("T")


def deadline_after(timeout: float) -> float:
    """The event loop's time `timeout` seconds from now."""
    return asyncio.get_running_loop().time() + timeout


class SseEvent(msgspec.Struct, frozen=True):
    event: str | None
    data: str


class SseParser:
    """Server-sent events from text as it arrives: `event:` and (multi-line) `data:`
    fields, comments ignored, LF or CRLF line ends, an event dispatched at a blank line
    and dropped if the text ends before it."""

    def __init__(self) -> None:
        self._rest = ""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, text: str) -> list[SseEvent]:
        *lines, self._rest = (self._rest + text).split("\n")
        events = []
        for line in lines:
            line = line.removesuffix("\r")
            if not line:
                if self._data:
                    events.append(SseEvent(self._event, "\n".join(self._data)))
                self._event, self._data = None, []
                continue
            name, _, value = line.partition(":")
            if name == "data":
                self._data.append(value.removeprefix(" "))
            elif name == "event":
                self._event = value.removeprefix(" ")
        return events


class StreamDecoder(Protocol):
    def feed(self, event: SseEvent) -> str | None:
        """The text the event adds, if any; raises ProviderError for an error event."""
        ...

    def result(self, content: str, limits: RateLimits) -> ChatResult | None:
        """The stream's result once it has seen its end, else None."""
        ...


class Transport:
    """One vendor's base URL and headers (the key among them) on the shared client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        headers: Mapping[str, str],
        *,
        style: str,
        secret: str | None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.style = style
        self._headers = dict(headers)
        self._json_headers = {"content-type": "application/json", **headers}
        self._secret = secret

    @contextlib.asynccontextmanager
    async def _open(
        self, method: str, path: str, deadline: float, body: Any, params: Mapping[str, str] | None
    ) -> AsyncIterator[httpx.Response]:
        """The vendor's 2xx answer, its body still unread; any other raises."""
        left = max(deadline - asyncio.get_running_loop().time(), 0.001)
        request = self.http.build_request(
            method,
            self.base_url + path,
            params=params,
            headers=self._headers if body is None else self._json_headers,
            content=None if body is None else msgspec.json.encode(body),
            timeout=left,  # the shared client's own default must not cut a long call short
        )
        try:
            async with asyncio.timeout_at(deadline):
                response = await self.http.send(request, stream=True)
        except (TimeoutError, httpx.HTTPError) as error:
            raise from_transport(self.style, error, secret=self._secret) from error
        try:
            if not response.is_success:
                content = await self._read(response, deadline)
                raise from_response(
                    self.style,
                    response.status_code,
                    content,
                    response.headers,
                    secret=self._secret,
                )
            yield response
        finally:
            await response.aclose()

    async def _read(self, response: httpx.Response, deadline: float) -> bytes:
        try:
            async with asyncio.timeout_at(deadline):
                return await response.aread()
        except (TimeoutError, httpx.HTTPError) as error:
            raise from_transport(self.style, error, secret=self._secret, answering=True) from error

    async def call(
        self,
        method: str,
        path: str,
        *,
        deadline: float,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[bytes, httpx.Headers]:
        """One request: the 2xx answer's body and headers."""
        async with self._open(method, path, deadline, body, params) as response:
            return await self._read(response, deadline), response.headers

    def decode(self, decoder: msgspec.json.Decoder[T], content: bytes | str) -> T:
        """The vendor's JSON as `decoder`'s type; MALFORMED when it is not."""
        try:
            return decoder.decode(content)
        except msgspec.DecodeError as error:
            raise self.malformed(f"unreadable answer: {error}") from error

    def malformed(self, reason: str) -> ProviderError:
        return malformed(self.style, reason, secret=self._secret)

    def error_event(self, payload: Any) -> ProviderError:
        return from_error_event(self.style, payload, secret=self._secret)

    async def stream(
        self,
        path: str,
        body: Any,
        decoder: StreamDecoder,
        *,
        timeout: float,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """POST `body` and yield the answer's text as Deltas, then one Done, all within
        `timeout` from the first step; a stream that ends before `decoder` saw its end is
        MALFORMED."""
        deadline = deadline_after(timeout)
        pieces: list[str] = []
        try:
            async with self._open("POST", path, deadline, body, params) as response:
                limits = parse_rate_limits(response.headers)
                async with contextlib.aclosing(self._events(response, deadline)) as events:
                    async for event in events:
                        if text := decoder.feed(event):
                            pieces.append(text)
                            yield Delta(text)
            result = decoder.result("".join(pieces), limits)
            if result is None:
                raise self.malformed("the stream ended before its end")
        except ProviderError as error:
            error.started_streaming = bool(pieces)
            raise
        yield Done(result)

    async def _events(
        self, response: httpx.Response, deadline: float
    ) -> AsyncGenerator[SseEvent, None]:
        # One deadline per network chunk, not per line: a chunk holds whole events, and
        # the response's close (in _open) ends the chunks' iterator.
        parser = SseParser()
        text = codecs.getincrementaldecoder("utf-8")("replace")
        chunks = response.aiter_bytes()
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks, None)
            except (TimeoutError, httpx.HTTPError) as error:
                raise from_transport(
                    self.style, error, secret=self._secret, answering=True
                ) from error
            if chunk is None:
                return
            for event in parser.feed(text.decode(chunk)):
                yield event
