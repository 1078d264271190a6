"""What every event store promises, whatever holds the bytes."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Sequence
from dataclasses import dataclass

import msgspec

from events.envelope import Event, EventData, Meta

NO_STREAM = 0
"""expected_version for a stream that must not exist yet."""

ANY_VERSION = -1
"""expected_version that skips the concurrency check."""


STORED_FIELDS = (
    "position",
    "event_id",
    "stream",
    "version",
    "type",
    "schema",
    "ts",
    "data",
    "meta",
    "hash",
)
"""An event as a store keeps it, in this order: `Event`'s fields, with `ts` in
microseconds since the epoch (UTC) and `data` and `meta` as the JSON bytes the hash
covers. The hash chain covers every field but the last (`chain.canonical_bytes`)."""

StoredRow = tuple[int, str, str, int, str, int, int, bytes, bytes, str]
"""One stored event, undecoded, in `STORED_FIELDS` order: what `verify` and exports read."""


@dataclass(frozen=True)
class LogFilter:
    """Which events `read_envelopes` returns; a field left empty matches every event.

    `stream` and each of `types` is exact, or a prefix when it ends with '*'
    ('task-*', 'task.*'); `since_ts` and `until_ts` are inclusive bounds on the commit
    time, in microseconds since the epoch (UTC).
    """

    stream: str | None = None
    types: tuple[str, ...] = ()
    since_ts: int | None = None
    until_ts: int | None = None


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

    # -- audit reads: the log as stored, for verify, export, the events API and rebuilds

    @abc.abstractmethod
    async def last_position(self) -> int:
        """The log's last position as stored now, also if another process wrote it."""

    @abc.abstractmethod
    async def read_rows(self, from_position: int = 1, limit: int = 1000) -> list[StoredRow]:
        """Stored events as they are, undecoded, in position order."""

    @abc.abstractmethod
    async def read_envelopes(
        self,
        from_position: int,
        to_position: int,
        where: LogFilter | None = None,
        limit: int = 1000,
    ) -> list[tuple[int, bytes]]:
        """(position, JSON envelope) of the first `limit` events matching `where` with
        from_position <= position < to_position, in position order.

        An envelope is what the relay publishes (an `Event` as JSON), made from the
        stored bytes without decoding `data`: an unknown type or an old schema reads as
        it is stored, and an auditor can re-hash it. A stored `data` or `meta` that is
        no longer JSON (tampered) shows as a JSON string.
        """

    async def replay(
        self,
        from_position: int = 1,
        until: int | None = None,
        types: Collection[str] | None = None,
        batch: int = 5000,
    ) -> AsyncGenerator[tuple[int, list[Event]], None]:
        """The log from `from_position` to `until` (or its end) for a rebuild.

        Yields (last position covered, the events of `types` among them) in order,
        batch by batch; `types` None means all. A backend overrides it to go faster.
        """
        position = max(from_position, 1)
        while True:
            end = await self.last_position()
            if until is not None:
                end = min(end, until)
            if position > end:
                return
            events = await self.read_all(position, min(batch, end - position + 1))
            if not events:
                return
            position = events[-1].position + 1
            yield (
                position - 1,
                events if types is None else [e for e in events if e.type in types],
            )

    @property
    @abc.abstractmethod
    def head(self) -> int:
        """Position of the last committed event (0 for an empty log)."""

    @abc.abstractmethod
    async def close(self) -> None: ...
