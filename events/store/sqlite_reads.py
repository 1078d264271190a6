"""The SQLite store's reads: a second connection, so a long read never delays a commit.

Events decode in batches: SQLite builds one JSON document for many rows in a worker
thread (no GIL held) and msgspec splits it in C. The audit reads (rows, envelopes,
replay) hand out the stored bytes as they are.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncGenerator, Callable, Collection
from pathlib import Path
from typing import Any

import aiosqlite
import msgspec

from events.clock import utc_from_micros
from events.envelope import Event, EventRegistry, Meta
from events.errors import StoreClosedError
from events.store.base import STORED_FIELDS, EventStore, LogFilter, StoredRow
from events.store.group_commit import EMPTY_META, EMPTY_META_BYTES
from events.store.schema import COLUMNS

_RAW = ("data", "meta")


def _like_event(name: str, order: tuple[str, ...], array_like: bool = False, **types: Any) -> Any:
    """A Struct with `Event`'s fields in `order`, `data` and `meta` left as raw JSON and
    `types` overriding others: the envelope's fields are declared once, on `Event`."""
    declared = {f.name: f.type for f in msgspec.structs.fields(Event)}
    declared |= dict.fromkeys(_RAW, msgspec.Raw) | types
    fields = [(n, declared[n]) for n in order]
    return msgspec.defstruct(name, fields, frozen=True, array_like=array_like)


# A stored row (ts in microseconds), and an envelope as the relay publishes it.
_StoredEvent = _like_event("_StoredEvent", STORED_FIELDS, array_like=True, ts=int)
_decode_stored: Callable[[str], list[Any]] = msgspec.json.Decoder(
    list[_StoredEvent]  # type: ignore[valid-type]
).decode
_EVENT_FIELDS: tuple[str, ...] = Event.__struct_fields__
_Envelope = _like_event("_Envelope", _EVENT_FIELDS)
_ENVELOPE_RAW = tuple(_EVENT_FIELDS.index(f) for f in _RAW)
_encode_envelope = msgspec.json.Encoder().encode
_decode_meta = msgspec.json.Decoder(Meta).decode
_json_encode = msgspec.json.Encoder().encode
_EMPTY_META_RAW = msgspec.Raw(EMPTY_META_BYTES)

# data and meta are JSON text kept as BLOBs (hashed byte for byte); CAST makes json() read
# them as text on every SQLite version (3.45.0 read BLOBs as its binary JSON format).
_ROW_JSON = "json_array({})".format(
    ", ".join(f"json(CAST({f} AS TEXT))" if f in _RAW else f for f in STORED_FIELDS)
)
_READ_JSON = f"SELECT json_group_array({_ROW_JSON}) FROM (SELECT * FROM events WHERE {{where}})"
# read_all's range needs no ordered subquery: rows come in rowid (= position) order.
_READ_RANGE_JSON = (
    f"SELECT json_group_array({_ROW_JSON}) FROM events WHERE position >= ? AND position < ?"
)

# An envelope's columns, in Event's order: data and meta are the stored bytes (what the
# hash covers); one that is no longer JSON (tampered) shows as a JSON string instead.
_AS_JSON = "iif(json_valid(CAST({c} AS TEXT)), {c}, CAST(json_quote(CAST({c} AS TEXT)) AS BLOB))"
_ENVELOPE_COLUMNS = ", ".join(_AS_JSON.format(c=f) if f in _RAW else f for f in _EVENT_FIELDS)
_ENVELOPE_TS = _EVENT_FIELDS.index("ts")

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

READ_LIMIT = 5000


def _filter_sql(where: LogFilter) -> tuple[str, list[Any]]:
    """`where` as WHERE terms (each starting with ' AND') and their parameters."""
    terms: list[str] = []
    params: list[Any] = []
    if where.stream is not None:
        terms.append(_match("stream", where.stream, params))
    if where.types:
        terms.append("(" + " OR ".join(_match("type", t, params) for t in where.types) + ")")
    if where.since_ts is not None:
        params.append(where.since_ts)
        terms.append(f"ts >= ?{len(params)}")
    if where.until_ts is not None:
        params.append(where.until_ts)
        terms.append(f"ts <= ?{len(params)}")
    return "".join(f" AND {term}" for term in terms), params


def _match(column: str, pattern: str, params: list[Any]) -> str:
    # substr rather than LIKE or GLOB: '_', '%', '[' and '?' in a name stay literal.
    if pattern.endswith("*"):
        params.append(pattern[:-1])
        return f"substr({column}, 1, length(?{len(params)})) = ?{len(params)}"
    params.append(pattern)
    return f"{column} = ?{len(params)}"


class SQLiteReads(EventStore):
    """Every read of the SQLite store; `SQLiteEventStore` adds the writes."""

    def __init__(self, path: Path, event_registry: EventRegistry) -> None:
        self.path = path
        self._registry = event_registry
        self._reader_db: aiosqlite.Connection | None = None

    async def _connect_reader(self, uri: str | Path, *, readonly: bool = False) -> None:
        self._reader_db = await aiosqlite.connect(uri, uri=readonly, isolation_level=None)
        await self._reader_db.execute("PRAGMA busy_timeout=5000")
        await self._reader_db.execute("PRAGMA cache_size=-65536")

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._reader_db is None:
            raise StoreClosedError()
        return list(await self._reader_db.execute_fetchall(sql, params))

    async def _read_events(self, sql: str, params: tuple[Any, ...]) -> list[Event]:
        # One JSON document for the batch, split by msgspec: per row that beats
        # sqlite3's column-by-column Python objects.
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

    # -- audit reads ------------------------------------------------------------------

    async def last_position(self) -> int:
        rows = await self._fetch("SELECT coalesce(max(position), 0) FROM events", ())
        return int(rows[0][0])

    async def read_rows(self, from_position: int = 1, limit: int = 1000) -> list[StoredRow]:
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
        # The range keeps a filter that matches little from scanning the whole log at once.
        terms, params = _filter_sql(where or LogFilter())
        offset = len(params)
        rows = await self._fetch(
            f"SELECT position, {_ENVELOPE_COLUMNS} FROM events"
            f" WHERE position >= ?{offset + 1} AND position < ?{offset + 2}{terms}"
            f" ORDER BY position LIMIT ?{offset + 3}",
            (*params, from_position, to_position, limit),
        )
        return [(row[0], _encode_envelope(_envelope_of(row[1:]))) for row in rows]

    async def replay(
        self,
        from_position: int = 1,
        until: int | None = None,
        types: Collection[str] | None = None,
        batch: int = READ_LIMIT,
    ) -> AsyncGenerator[tuple[int, list[Event]], None]:
        """A dedicated connection in a worker thread reads the next batch while the
        caller folds this one. The events are Event subclasses (one per data type):
        fold them, do not re-encode them."""
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


def _envelope_of(columns: tuple[Any, ...]) -> Any:
    """Columns in `_ENVELOPE_COLUMNS` order as the envelope the relay publishes."""
    values = list(columns)
    for i in _ENVELOPE_RAW:
        values[i] = msgspec.Raw(values[i])
    values[_ENVELOPE_TS] = utc_from_micros(values[_ENVELOPE_TS])
    return _Envelope(*values)
