"""Sources a flow reads items from, besides plain calls: a server-sent event stream
(`POST /ai/complete` with `stream`) and NATS (a task's events, see `_nats.py`).

A flow yields `Open(spec)` and gets a handle; `Next(handle, timeout)` gives the next
item, `TIMED_OUT` or `ENDED`. The client closes every handle when the flow ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amas.sdk._call import ENDED, Call


@dataclass(frozen=True)
class SseSpec:
    """The server-sent events answering `call`."""

    call: Call[Any]


@dataclass(frozen=True)
class NatsSpec:
    """The envelopes JetStream `stream` holds on `subject` from `start` on."""

    url: str
    subject: str
    stream: str
    start: datetime
    connect_timeout: float = 3.0


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: Any


class SseParser:
    """Lines of `text/event-stream` in, events out (`data` decoded as JSON)."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> ServerSentEvent | None:
        if line == "":
            if not self._data:
                return None
            data, event = "\n".join(self._data), self._event
            self._event, self._data = "message", []
            return ServerSentEvent(event, json.loads(data))
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


class SseSource:
    def __init__(self, lines: Iterator[str]) -> None:
        self._lines, self._parser = lines, SseParser()

    def next(self, timeout: float) -> Any:
        for line in self._lines:
            event = self._parser.feed(line)
            if event is not None:
                return event
        return ENDED


class AsyncSseSource:
    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines, self._parser = lines, SseParser()

    async def next(self, timeout: float) -> Any:
        async for line in self._lines:
            event = self._parser.feed(line)
            if event is not None:
                return event
        return ENDED
