"""Projections: read models folded from the log, one transaction per batch.

A projection owns some tables in the projections database. The runner hands it
batches of events in position order inside a transaction that also moves its
checkpoint, so a batch is applied exactly once even across crashes. Dropping the
tables and replaying from position 1 must give the same rows: a projection reads
only its events and its own tables, never the clock or the network.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Sequence
from typing import Any, ClassVar

import aiosqlite
import msgspec

from events.envelope import Event


class Projection(abc.ABC):
    name: ClassVar[str]
    version: ClassVar[int] = 1
    """Bump when the tables or the folding change: the runner then rebuilds from 1."""
    event_types: ClassVar[frozenset[str] | None] = None
    """The event types this projection reads; None for all of them."""
    tables: ClassVar[tuple[str, ...]] = ()
    """Tables (and their indexes) that `schema` creates and a rebuild drops."""

    indexes: ClassVar[tuple[str, ...]] = ()
    """CREATE INDEX IF NOT EXISTS statements. A rebuild creates them after the last
    batch: sorting once is far cheaper than keeping indexes current row by row."""

    @abc.abstractmethod
    def schema(self) -> str:
        """DDL creating this projection's tables; run on every start (IF NOT EXISTS)."""

    @abc.abstractmethod
    async def apply(self, db: aiosqlite.Connection, events: Sequence[Event]) -> None:
        """Fold `events` (already filtered by `event_types`) into the tables."""


Row = dict[str, Any]


class RowProjection(Projection):
    """A projection with one row per key (a task, an agent ...), folded in memory.

    For each batch it loads the rows the batch touches, folds every event into its
    row in order, and writes each changed row once: a replay costs one read and one
    write per row per batch, not one statement per event.
    """

    table: ClassVar[str]
    key: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]
    json_columns: ClassVar[frozenset[str]] = frozenset()
    """Columns holding JSON text; folded as Python values."""

    @abc.abstractmethod
    def key_of(self, event: Event) -> str | None:
        """The row an event belongs to, or None to skip it."""

    @abc.abstractmethod
    def fold(self, row: Row | None, event: Event) -> Row | None:
        """The row after `event` (None deletes it); `row` is None if there is none yet.

        `row` is this batch's private copy: fold may change it in place and return it.
        """

    def creates(self, event: Event) -> bool:
        """True if `event` starts a new row, so the row need not be looked up first."""
        return False

    async def apply(self, db: aiosqlite.Connection, events: Sequence[Event]) -> None:
        keyed = [(self.key_of(event), event) for event in events]
        keys: set[str] = set()
        created: set[str] = set()
        for key, event in keyed:
            if key is not None and key not in keys:
                keys.add(key)
                if self.creates(event):
                    created.add(key)
        if not keys:
            return
        rows = await self._load(db, keys - created) if len(created) < len(keys) else {}
        changed: set[str] = set()
        for key, event in keyed:
            if key is not None:
                rows[key] = self.fold(rows.get(key), event)
                changed.add(key)
        upserts = [self._encode(row) for k in changed if (row := rows[k]) is not None]
        deletes = [key for key in changed if rows[key] is None]
        if upserts:
            await db.executemany(self._sql.upsert, upserts)
        if deletes:
            await db.execute(self._sql.delete, (_json_encode(deletes),))

    async def _load(self, db: aiosqlite.Connection, keys: set[str]) -> dict[str, Row | None]:
        rows = await db.execute_fetchall(self._sql.load, (_json_encode(list(keys)),))
        return {values[0]: self.decode_row(values) for values in rows}

    @classmethod
    def decode_row(cls, values: Sequence[Any]) -> Row:
        """A stored row (all `columns`, in order) as the dict `fold` works on."""
        json_columns = cls.json_columns
        return {
            column: _json_decode(value) if column in json_columns and value is not None else value
            for column, value in zip(cls.columns, values, strict=True)
        }

    def _encode(self, row: Row) -> list[Any]:
        values = [row.get(column) for column in self.columns]
        for i in self._json_indexes:
            if values[i] is not None:
                values[i] = _json_encode(values[i]).decode()
        return values

    @functools.cached_property
    def _json_indexes(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if c in self.json_columns)

    @functools.cached_property
    def _sql(self) -> _RowSQL:
        return _RowSQL(self.table, self.key, self.columns, self.json_columns)


class _RowSQL:
    """A row projection's statements. The keys to load go in as one JSON array; writes
    bind rows one by one (with wide rows, SQLite re-parsing JSON per column costs more)."""

    def __init__(
        self, table: str, key: str, columns: tuple[str, ...], json_columns: frozenset[str]
    ) -> None:
        if columns[0] != key:
            raise ValueError(f"{table}: the key column must come first")
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        self.upsert = f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})"
        self.delete = f"DELETE FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))"
        # Plain columns, not json_array(): SQLite's JSON prints REALs with 15 digits.
        self.load = f"SELECT {names} FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))"


_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode
