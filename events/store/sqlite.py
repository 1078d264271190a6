"""The event store on SQLite (WAL), through aiosqlite.

Appends go through the GroupCommitter (one fsynced transaction for many appends);
reads go through a second connection, so a long read never delays a commit. The
last committed events stay in memory, so live subscribers rarely touch the disk.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from events.envelope import Event, EventData, EventRegistry, Meta, registry, utc_from_micros
from events.errors import StoreClosedError, StoreWriteError
from events.store.base import AppendResult, EventStore
from events.store.chain import GENESIS
from events.store.group_commit import EMPTY_META, EMPTY_META_BYTES, GroupCommitter, Row
from events.store.schema import COLUMNS, DDL, PRAGMAS

_decode_meta = msgspec.json.Decoder(Meta).decode
_json_encode = msgspec.json.Encoder().encode


class _StoredEvent(msgspec.Struct, array_like=True, frozen=True):
    position: int
    event_id: str
    stream: str
    version: int
    type: str
    schema: int
    ts: int
    data: msgspec.Raw
    meta: msgspec.Raw
    hash: str


_decode_stored = msgspec.json.Decoder(list[_StoredEvent]).decode
_EMPTY_META_RAW = msgspec.Raw(EMPTY_META_BYTES)
# data and meta are JSON text kept as BLOBs (hashed byte for byte); CAST makes json() read
# them as text on every SQLite version (3.45.0 read BLOBs as its binary JSON format).
_ROW_JSON = (
    "json_array(position, event_id, stream, version, type, schema, ts,"
    " json(CAST(data AS TEXT)), json(CAST(meta AS TEXT)), hash)"
)
_READ_JSON = f"SELECT json_group_array({_ROW_JSON}) FROM (SELECT * FROM events WHERE {{where}})"
# read_all's range needs no ordered subquery: rows come in rowid (= position) order.
_READ_RANGE_JSON = (
    f"SELECT json_group_array({_ROW_JSON}) FROM events WHERE position >= ? AND position < ?"
)

# A replay batch as the tagged arrays `EventRegistry.batch_decoder` reads, built by
# SQLite in a worker thread (no GIL) by plain text formatting: the stored data and meta
# are JSON already, so nothing is parsed twice. count(*) guards the splice.
_REPLAY_ROW = (
    'format(\'["%s@%d","%s",%s,%d,%d,"%s",%d,%s,%s,%d.%06d,"%s"]\', type, schema,'
    " event_id, json_quote(stream), version, position, type, schema, data, meta,"
    " ts / 1000000, ts % 1000000, hash)"
)
_REPLAY_WHERE = "position >= ?1 AND position < ?2"
_REPLAY_TYPES = " AND type IN (SELECT value FROM json_each(?3))"

_TAIL_SIZE = 20_000
_READ_LIMIT = 5000

# An envelope as the relay publishes it, built from the stored row: data and meta are the
# stored bytes (what the hash covers), so an export can be re-hashed by an auditor. A row
# whose data or meta is no longer JSON (tampered) shows it as a JSON string instead.
_AS_JSON = "iif(json_valid(CAST({c} AS TEXT)), {c}, CAST(json_quote(CAST({c} AS TEXT)) AS BLOB))"
_ENVELOPE_COLUMNS = (
    "position, event_id, stream, version, type, schema, ts,"
    f" {_AS_JSON.format(c='data')}, {_AS_JSON.format(c='meta')}, hash"
)


class _Envelope(msgspec.Struct, frozen=True):
    event_id: str
    stream: str
    version: int
    position: int
    type: str
    schema: int
    data: msgspec.Raw
    meta: msgspec.Raw
    ts: datetime
    hash: str


_encode_envelope = msgspec.json.Encoder().encode


def _envelope_of(
    position: int,
    event_id: str,
    stream: str,
    version: int,
    type_name: str,
    schema: int,
    ts: int,
    data: bytes,
    meta: bytes,
    digest: str,
) -> _Envelope:
    """A stored row (in `_ENVELOPE_COLUMNS` order) as the envelope the relay publishes."""
    return _Envelope(
        event_id,
        stream,
        version,
        position,
        type_name,
        schema,
        msgspec.Raw(data),
        msgspec.Raw(meta),
        utc_from_micros(ts),
        digest,
    )


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

    def sql(self) -> tuple[str, list[Any]]:
        """The WHERE terms (each starting with ' AND') and their parameters."""
        terms: list[str] = []
        params: list[Any] = []
        if self.stream is not None:
            terms.append(_match("stream", self.stream, params))
        if self.types:
            terms.append("(" + " OR ".join(_match("type", t, params) for t in self.types) + ")")
        if self.since_ts is not None:
            params.append(self.since_ts)
            terms.append(f"ts >= ?{len(params)}")
        if self.until_ts is not None:
            params.append(self.until_ts)
            terms.append(f"ts <= ?{len(params)}")
        return "".join(f" AND {term}" for term in terms), params


def _match(column: str, pattern: str, params: list[Any]) -> str:
    # substr rather than LIKE or GLOB: '_', '%', '[' and '?' in a name stay literal.
    if pattern.endswith("*"):
        params.append(pattern[:-1])
        return f"substr({column}, 1, length(?{len(params)})) = ?{len(params)}"
    params.append(pattern)
    return f"{column} = ?{len(params)}"


class SQLiteEventStore(EventStore):
    """Open with `await SQLiteEventStore.open(path)`; close with `await store.close()`."""

    def __init__(self, path: Path, event_registry: EventRegistry) -> None:
        self.path = path
        self._registry = event_registry
        self._writer_db: aiosqlite.Connection | None = None
        self._reader_db: aiosqlite.Connection | None = None
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
        store._reader_db = await aiosqlite.connect(
            f"{store.path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        await store._reader_db.execute("PRAGMA busy_timeout=5000")
        await store._reader_db.execute("PRAGMA cache_size=-65536")
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
        self._reader_db = await aiosqlite.connect(self.path, isolation_level=None)
        await self._reader_db.execute("PRAGMA busy_timeout=5000")
        await self._reader_db.execute("PRAGMA cache_size=-65536")
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
        return self._committer.submit(stream, expected_version, events, meta)

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

    # -- reading ----------------------------------------------------------------------

    async def last_position(self) -> int:
        """The log's last position as stored now, also if another process wrote it."""
        rows = await self._fetch("SELECT coalesce(max(position), 0) FROM events", ())
        return int(rows[0][0])

    async def read_stream(self, stream: str, from_version: int = 1) -> list[Event]:
        return await self._read_events(
            _READ_JSON.format(where="stream = ? AND version >= ? ORDER BY version"),
            (stream, from_version),
        )

    async def read_all(self, from_position: int = 1, limit: int = 1000) -> list[Event]:
        # Positions have no gaps, so a range is a LIMIT that SQLite need not sort for.
        events = await self._read_events(_READ_RANGE_JSON, (from_position, from_position + limit))
        if any(a.position >= b.position for a, b in itertools.pairwise(events)):
            events.sort(key=lambda event: event.position)  # SQLite owes us no order here
        return events

    async def read_rows(self, from_position: int = 1, limit: int = 1000) -> list[Row]:
        """Stored rows as they are, undecoded: what `verify` and exports read."""
        return await self._fetch(
            f"SELECT {COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?",
            (from_position, limit),
        )

    async def read_envelopes(
        self,
        from_position: int,
        to_position: int,
        where: LogFilter | None = None,
        limit: int = 1000,
    ) -> list[tuple[int, bytes]]:
        """(position, JSON envelope) of the first `limit` events matching `where` with
        from_position <= position < to_position, in position order.

        The envelopes are what the relay publishes, made from the stored bytes without
        decoding `data`, so an unknown type or an old schema reads as it is stored. The
        range keeps a filter that matches little from scanning the whole log at once.
        """
        terms, params = (where or LogFilter()).sql()
        offset = len(params)
        rows = await self._fetch(
            f"SELECT {_ENVELOPE_COLUMNS} FROM events"
            f" WHERE position >= ?{offset + 1} AND position < ?{offset + 2}{terms}"
            f" ORDER BY position LIMIT ?{offset + 3}",
            (*params, from_position, to_position, limit),
        )
        return [(row[0], _encode_envelope(_envelope_of(*row))) for row in rows]

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._reader_db is None:
            raise StoreClosedError()
        return list(await self._reader_db.execute_fetchall(sql, params))

    async def _read_events(self, sql: str, params: tuple[Any, ...]) -> list[Event]:
        # SQLite builds one JSON document for the whole batch without holding the GIL;
        # msgspec splits it in C. Per row that beats sqlite3's column-by-column objects.
        rows = await self._fetch(sql, params)
        registry, decode_meta = self._registry.decode, _decode_meta
        return [
            Event(
                event_id=r.event_id,
                stream=r.stream,
                version=r.version,
                position=r.position,
                type=r.type,
                schema=r.schema,
                data=registry(r.type, r.schema, r.data, r.position),
                meta=EMPTY_META if r.meta == _EMPTY_META_RAW else decode_meta(r.meta),
                ts=utc_from_micros(r.ts),
                hash=r.hash,
            )
            for r in _decode_stored(rows[0][0])
        ]

    async def replay(
        self,
        from_position: int = 1,
        until: int | None = None,
        types: Collection[str] | None = None,
        batch: int = _READ_LIMIT,
    ) -> AsyncIterator[tuple[int, list[Event]]]:
        """The log from `from_position` to `until` (or its end) for a rebuild, fast.

        Yields (last position covered, the events of `types` among them), in order;
        `types` None means all. A dedicated connection in a worker thread reads the
        next batch while the caller folds this one. The events are Event subclasses
        (one per data type): fold them, do not re-encode them.
        """
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        where = _REPLAY_WHERE + (_REPLAY_TYPES if types is not None else "")
        sql = f"SELECT count(*), group_concat({_REPLAY_ROW}, ',') FROM events WHERE {where}"
        wanted = (_json_encode(sorted(types)),) if types is not None else ()

        def fetch(lo: int, hi: int) -> tuple[int, str | None]:
            count, text = conn.execute(sql, (lo, hi, *wanted)).fetchone()
            return int(count), text

        fetching: asyncio.Future[tuple[int, str | None]] | None = None
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA cache_size=-65536")
            decoder = self._registry.batch_decoder()
            position, end = max(from_position, 1), 0
            while True:
                if position > end:
                    end = await self.last_position()
                    if until is not None:
                        end = min(end, until)
                    if position > end:
                        return
                hi = min(position + batch, end + 1)
                if fetching is None:
                    fetching = asyncio.ensure_future(asyncio.to_thread(fetch, position, hi))
                count, text = await fetching
                fetching = None
                if hi <= end:  # read ahead while the caller folds this batch
                    ahead = min(hi + batch, end + 1)
                    fetching = asyncio.ensure_future(asyncio.to_thread(fetch, hi, ahead))
                events: list[Event] = []
                if count:
                    try:
                        events = decoder.decode("[" + (text or "") + "]")
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        events = []
                    if len(events) != count:  # an old schema, an unknown type, bad data
                        events = await self._read_events(
                            _READ_JSON.format(where=f"{where} ORDER BY position"),
                            (position, hi, *wanted),
                        )
                yield hi - 1, events
                position = hi
        finally:
            if fetching is not None:
                await asyncio.gather(fetching, return_exceptions=True)
            conn.close()

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
                batch = self._from_tail(position, _READ_LIMIT)
                if not batch:
                    batch = await self.read_all(position, _READ_LIMIT)
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
