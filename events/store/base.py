"""What every event store promises, whatever holds the bytes."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Sequence

import msgspec

from events.envelope import Event, EventData, Meta

NO_STREAM = 0
"""expected_version for a stream that must not exist yet."""

ANY_VERSION = -1
"""expected_version that skips the concurrency check."""


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    stream: str
    version: int
    """The stream's version after the append."""
    first_position: int
    last_position: int
    events: list[Event]


class EventStore(abc.ABC):
    """An append-only, hash-chained log of events, ordered by a global position.

    Positions start at 1 and have no gaps. Reads take an inclusive `from_position`.
    """

    @abc.abstractmethod
    async def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[EventData],
        meta: Meta | None = None,
    ) -> AppendResult:
        """Commit `events` to `stream` durably, or raise ConcurrencyError."""

    def append_soon(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[EventData],
        meta: Meta | None = None,
    ) -> asyncio.Future[AppendResult]:
        """`append`, queued now (in call order) with a future for its result: for a
        caller on the loop that must not wait, such as an actor."""
        return asyncio.ensure_future(self.append(stream, expected_version, events, meta))

    @abc.abstractmethod
    async def read_stream(self, stream: str, from_version: int = 1) -> list[Event]: ...

    @abc.abstractmethod
    async def read_all(self, from_position: int = 1, limit: int = 1000) -> list[Event]: ...

    @abc.abstractmethod
    def subscribe_batches(self, from_position: int = 1) -> AsyncIterator[list[Event]]:
        """Catch up from the log, then follow new commits: every event once, in order."""

    async def subscribe(self, from_position: int = 1) -> AsyncIterator[Event]:
        async for batch in self.subscribe_batches(from_position):
            for event in batch:
                yield event

    @property
    @abc.abstractmethod
    def head(self) -> int:
        """Position of the last committed event (0 for an empty log)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
