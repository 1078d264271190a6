"""Group commit: many concurrent appends, one fsynced transaction.

Callers encode their events and queue them. The committer takes everything queued,
checks each stream's expected version, assigns positions, extends the hash chain and
hands the rows to the database thread as one transaction. While that transaction is
being written and fsynced, the next batch is built and queued behind it (two in
flight), so the event loop and the disk work at the same time. A caller's append
returns only after its own transaction has committed.

Positions and versions are assigned speculatively, ahead of the disk. If a commit
fails, every batch queued behind it is refused by the database as stale (its first
position no longer follows the log, see INSERT_BATCH) and is queued again, so the log
never gets a gap and no caller sees a position that was not written.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from hashlib import sha256
from typing import Any

import aiosqlite
import msgspec

from events.clock import utc_from_micros
from events.envelope import Event, EventData, Meta
from events.errors import ConcurrencyError, StoreClosedError, StoreWriteError
from events.ids import new_ids
from events.store.base import ANY_VERSION, NO_STREAM, AppendResult
from events.store.chain import canonical_bytes
from events.store.schema import INSERT_BATCH

log = logging.getLogger(__name__)

EMPTY_META = Meta()
_encode = msgspec.json.Encoder().encode
EMPTY_META_BYTES = _encode(EMPTY_META)

_MAX_BATCH_EVENTS = 5000
_MAX_IN_FLIGHT = 2
_SPLIT_AT = 32
_VERSION_CACHE_SIZE = 200_000
_SQL_VARS = 500


class _Pending:
    __slots__ = ("encoded", "expected", "future", "look_up", "meta", "meta_bytes", "stream")

    def __init__(
        self,
        stream: str,
        expected: int,
        encoded: list[tuple[EventData, bytes]],
        meta: Meta,
        meta_bytes: bytes,
        future: asyncio.Future[AppendResult],
    ) -> None:
        self.stream = stream
        self.expected = expected
        self.encoded = encoded
        self.meta = meta
        self.meta_bytes = meta_bytes
        self.future = future
        # A new stream (expected NO_STREAM) is assumed absent without a read; the unique
        # (stream, version) index catches a wrong guess, and then we look it up.
        self.look_up = expected != NO_STREAM


class _Batch:
    __slots__ = ("accepted", "blob", "count", "first_position", "last_hash", "rows", "ts")

    def __init__(self, first_position: int, ts: int) -> None:
        self.first_position = first_position
        self.ts = ts
        self.rows: list[tuple[str, str, int, str, int, int, int, int, int, str]] = []
        self.blob = bytearray()
        self.accepted: list[tuple[_Pending, list[Event]]] = []
        self.count = 0
        self.last_hash = b""


class _StaleBatch(Exception):
    """A batch built on top of one that failed to commit."""


class GroupCommitter:
    def __init__(
        self,
        db: aiosqlite.Connection,
        head: int,
        last_hash: bytes,
        last_ts: int,
        on_commit: Callable[[list[Event]], None],
    ) -> None:
        self._db = db
        self._on_commit = on_commit
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._in_flight = 0
        self._commits: set[asyncio.Task[None]] = set()
        self._requeued = 0
        self._closed = False
        # Committed state (loop side) and speculative state (what the next batch builds on).
        self.head, self._hash, self._ts = head, last_hash, last_ts
        self._next_position, self._next_hash = head + 1, last_hash
        self._versions: dict[str, int] = {}
        self._task = asyncio.create_task(self._run(), name="event-store-group-commit")

    async def append(
        self, stream: str, expected: int, events: Sequence[EventData], meta: Meta | None
    ) -> AppendResult:
        return await self.submit(stream, expected, events, meta)

    def submit(
        self, stream: str, expected: int, events: Sequence[EventData], meta: Meta | None
    ) -> asyncio.Future[AppendResult]:
        """Queue an append; the future resolves once it has committed (or failed)."""
        if self._closed:
            raise StoreClosedError()
        if not events:
            raise ValueError("append needs at least one event")
        for event in events:
            if not event.type_name:
                raise TypeError(f"{type(event).__name__} has no type_name; it is not an event")
        if expected < ANY_VERSION:
            raise ValueError(f"expected_version must be >= {ANY_VERSION}, not {expected}")
        meta = meta or EMPTY_META
        meta_bytes = EMPTY_META_BYTES if meta is EMPTY_META else _encode(meta)
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        encoded = [(event, _encode(event)) for event in events]
        self._pending.append(_Pending(stream, expected, encoded, meta, meta_bytes, future))
        self._wake.set()
        return future

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closed = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        try:
            while True:
                if self._pending and self._in_flight < _MAX_IN_FLIGHT:
                    taken = self._take()
                    try:
                        batch = await self._build(taken)
                    except Exception as e:  # a bug or a dead connection: fail these, go on
                        log.exception("group commit could not build a batch")
                        self._rollback_speculation()
                        self._fail(taken, e)
                        continue
                    if batch.count:
                        self._in_flight += 1
                        task = asyncio.create_task(self._commit(batch))
                        self._commits.add(task)
                        task.add_done_callback(self._commits.discard)
                    continue
                if self._closed and not self._pending and not self._in_flight:
                    return
                self._wake.clear()
                await self._wake.wait()
        finally:
            for pending in self._pending:
                if not pending.future.done():
                    pending.future.set_exception(StoreClosedError())
            self._pending.clear()

    def _take(self) -> list[_Pending]:
        pending, taken, size = self._pending, 0, 0
        limit = _MAX_BATCH_EVENTS
        if not self._in_flight and len(pending) >= _SPLIT_AT:
            # Nothing is being written: commit half now and build the other half behind
            # it, so the two halves take turns between the event loop and the disk.
            limit = min(limit, sum(len(p.encoded) for p in pending) // 2)
        while taken < len(pending) and size < limit:
            size += len(pending[taken].encoded)
            taken += 1
        batch = pending[:taken]
        del pending[:taken]
        self._requeued = max(0, self._requeued - taken)
        return batch

    async def _build(self, pendings: list[_Pending]) -> _Batch:
        if len(self._versions) > _VERSION_CACHE_SIZE:
            self._versions.clear()  # a cache: anything missing is read again
        versions = self._versions
        # Loop: a failed commit during the read clears the cache again.
        while unknown := {p.stream for p in pendings if p.look_up and p.stream not in versions}:
            await self._load_versions(unknown)
        ts = max(time.time_ns() // 1000, self._ts)
        ts_dt = utc_from_micros(ts)
        batch = _Batch(self._next_position, ts)
        position, previous = self._next_position, self._next_hash
        rows, blob, accepted = batch.rows, batch.blob, batch.accepted
        event_ids = iter(new_ids(sum(len(p.encoded) for p in pendings)))
        for p in pendings:
            if p.future.done():  # its caller was cancelled before anything was written
                continue
            current = versions.get(p.stream, 0)
            if p.expected != ANY_VERSION and p.expected != current:
                p.future.set_exception(ConcurrencyError(p.stream, p.expected, current))
                continue
            built: list[Event] = []
            stream, meta, meta_bytes = p.stream, p.meta, p.meta_bytes
            meta_at, meta_len = len(blob) + 1, len(meta_bytes)  # substr() counts from 1
            blob += meta_bytes
            for data, data_bytes in p.encoded:
                current += 1
                event_id = next(event_ids)
                type_name, schema = data.type_name, data.schema_version
                previous = sha256(
                    previous
                    + canonical_bytes(
                        position,
                        event_id,
                        stream,
                        current,
                        type_name,
                        schema,
                        ts,
                        data_bytes,
                        meta_bytes,
                    )
                ).digest()
                digest = previous.hex()
                rows.append(
                    (
                        event_id,
                        stream,
                        current,
                        type_name,
                        schema,
                        len(blob) + 1,
                        len(data_bytes),
                        meta_at,
                        meta_len,
                        digest,
                    )
                )
                blob += data_bytes
                built.append(
                    Event(
                        event_id=event_id,
                        stream=stream,
                        version=current,
                        position=position,
                        type=type_name,
                        schema=schema,
                        data=data,
                        meta=meta,
                        ts=ts_dt,
                        hash=digest,
                    )
                )
                position += 1
            versions[stream] = current
            accepted.append((p, built))
        batch.count, batch.last_hash = len(rows), previous
        self._next_position, self._next_hash = position, previous
        return batch

    async def _commit(self, batch: _Batch) -> None:
        try:
            cursor = await self._db.execute(
                INSERT_BATCH, (batch.first_position, batch.ts, _encode(batch.rows), batch.blob)
            )
            if cursor.rowcount != batch.count:
                raise _StaleBatch()
        except (sqlite3.Error, _StaleBatch) as e:
            self._rollback_speculation()
            self._requeue_or_fail(batch, e)
        else:
            self.head = batch.first_position + batch.count - 1
            self._hash, self._ts = batch.last_hash, batch.ts
            self._on_commit([event for _, built in batch.accepted for event in built])
            for p, built in batch.accepted:
                if not p.future.done():
                    p.future.set_result(
                        AppendResult(
                            stream=p.stream,
                            version=built[-1].version,
                            first_position=built[0].position,
                            last_position=built[-1].position,
                            events=built,
                        )
                    )
        finally:
            self._in_flight -= 1
            self._wake.set()

    def _rollback_speculation(self) -> None:
        self._next_position, self._next_hash = self.head + 1, self._hash
        self._versions.clear()

    def _requeue_or_fail(self, batch: _Batch, error: BaseException) -> None:
        retry = isinstance(error, _StaleBatch) or (
            isinstance(error, sqlite3.IntegrityError)
            and any(not p.look_up for p, _ in batch.accepted)
        )
        if retry:
            for p, _ in batch.accepted:
                p.look_up = True
            # After earlier requeued appends, before newer ones: each stream keeps its order.
            at = self._requeued
            self._pending[at:at] = [p for p, _ in batch.accepted]
            self._requeued += len(batch.accepted)
            return
        self._fail([p for p, _ in batch.accepted], error)

    def _fail(self, pendings: list[_Pending], error: BaseException) -> None:
        failure = StoreWriteError(f"{type(error).__name__}: {error}")
        failure.__cause__ = error
        for p in pendings:
            if not p.future.done():
                p.future.set_exception(failure)

    async def _load_versions(self, streams: set[str]) -> None:
        names = list(streams)
        for stream in names:
            self._versions[stream] = 0
        for i in range(0, len(names), _SQL_VARS):
            chunk = names[i : i + _SQL_VARS]
            marks = ",".join("?" * len(chunk))
            rows: Any = await self._db.execute_fetchall(
                f"SELECT stream, MAX(version) FROM events WHERE stream IN ({marks})"
                " GROUP BY stream",
                chunk,
            )
            for stream, version in rows:
                self._versions[stream] = version
