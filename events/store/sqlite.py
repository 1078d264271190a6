"""The event store on SQLite (WAL), through aiosqlite.

Appends go through the GroupCommitter (one fsynced transaction for many appends);
reads go through a second connection (`sqlite_reads`), so a long read never delays a
commit. The last committed events stay in memory, so live subscribers rarely touch the
disk.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from events import tracing
from events.envelope import Event, EventData, EventRegistry, Meta, registry
from events.errors import StoreClosedError, StoreWriteError
from events.store.base import AppendResult
from events.store.chain import GENESIS
from events.store.group_commit import GroupCommitter
from events.store.schema import DDL, PRAGMAS
from events.store.sqlite_reads import READ_LIMIT, SQLiteReads

_TAIL_SIZE = 20_000


class SQLiteEventStore(SQLiteReads):
    """Open with `await SQLiteEventStore.open(path)`; close with `await store.close()`."""

    def __init__(self, path: Path, event_registry: EventRegistry) -> None:
        super().__init__(path, event_registry)
        self._writer_db: aiosqlite.Connection | None = None
        self._committer: GroupCommitter | None = None
        self._advanced = asyncio.Event()
        self._closed = False
        self._tail: list[Event] = []

    @classmethod
    async def open(
        cls, path: str | Path, event_registry: EventRegistry = registry
    ) -> SQLiteEventStore:
        store = cls(Path(path), event_registry)
        await store._open()
        return store

    @classmethod
    async def open_readonly(
        cls, path: str | Path, event_registry: EventRegistry = registry
    ) -> SQLiteEventStore:
        """A store that only reads (append raises StoreClosedError; `head` stays 0, ask
        `last_position()`): safe beside a running node, which may keep writing. Raises
        FileNotFoundError when there is no log at `path`."""
        store = cls(Path(path), event_registry)
        if not store.path.is_file():
            raise FileNotFoundError(f"no event log at {store.path}")
        await store._connect_reader(f"{store.path.resolve().as_uri()}?mode=ro", readonly=True)
        return store

    async def _open(self) -> None:
        if sqlite3.sqlite_version_info < (3, 38):
            raise StoreWriteError(
                f"SQLite {sqlite3.sqlite_version} is too old: the event store needs 3.38 or newer"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in PRAGMAS:
            await self._writer_db.execute(pragma)
        await self._writer_db.executescript(DDL)
        await self._connect_reader(self.path)
        last: Any = list(
            await self._writer_db.execute_fetchall(
                "SELECT position, hash, ts FROM events ORDER BY position DESC LIMIT 1"
            )
        )
        head, last_hash, last_ts = (
            (last[0][0], bytes.fromhex(last[0][1]), last[0][2]) if last else (0, GENESIS, 0)
        )
        self._committer = GroupCommitter(self._writer_db, head, last_hash, last_ts, self._on_commit)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def head(self) -> int:
        return self._committer.head if self._committer is not None else 0

    # -- writing ----------------------------------------------------------------------

    async def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[EventData],
        meta: Meta | None = None,
    ) -> AppendResult:
        return await self.append_soon(stream, expected_version, events, meta)

    def append_soon(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[EventData],
        meta: Meta | None = None,
    ) -> asyncio.Future[AppendResult]:
        if self._committer is None:
            raise StoreClosedError()
        appended = self._committer.submit(stream, expected_version, events, meta)
        if tracing.recording():  # a span from the call to the commit, under the caller's
            span = tracing.child(
                "events.append", attributes={"amas.stream": stream, "amas.events": len(events)}
            )
            if span is not None:
                appended.add_done_callback(functools.partial(_committed, span))
        return appended

    def _on_commit(self, events: list[Event]) -> None:
        tail = self._tail
        if tail and tail[-1].position + 1 != events[0].position:
            tail.clear()  # never serve a tail with a hole in it
        tail.extend(events)
        if len(tail) > 2 * _TAIL_SIZE:
            del tail[: len(tail) - _TAIL_SIZE]
        self._notify_advanced()

    def _notify_advanced(self) -> None:
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

    # -- following --------------------------------------------------------------------

    def _from_tail(self, position: int, limit: int) -> list[Event] | None:
        tail = self._tail
        if not tail or position < tail[0].position:
            return None
        start = position - tail[0].position
        return tail[start : start + limit]

    async def subscribe_batches(self, from_position: int = 1) -> AsyncIterator[list[Event]]:
        position = max(from_position, 1)
        while not self._closed:
            if position <= self.head:
                batch = self._from_tail(position, READ_LIMIT)
                if not batch:
                    batch = await self.read_all(position, READ_LIMIT)
                if batch:
                    position = batch[-1].position + 1
                    yield batch
            else:
                await self._advanced.wait()

    # -- lifecycle --------------------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._committer is not None:
            await self._committer.close()
            self._committer = None
        self._notify_advanced()
        for db in (self._writer_db, self._reader_db):
            if db is not None:
                await db.close()
        self._writer_db = self._reader_db = None


def _committed(span: tracing.Span, appended: asyncio.Future[AppendResult]) -> None:
    error = None if appended.cancelled() else appended.exception()
    if error is None and not appended.cancelled():
        span.set_attribute("amas.position", appended.result().last_position)
    tracing.finish(span, error)
