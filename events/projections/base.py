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
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

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
    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        """Fold `events` (already filtered by `event_types`) into the tables.

        Runs on the projections database's thread, inside the runner's transaction."""

    def forget(self) -> None:
        """Drop what is kept in memory between batches: a transaction holding this
        projection's writes did not commit, so the database is the truth again."""
        return None


Row = dict[str, Any]

_RECENT_ROWS = 2_000
"""Enough for the tasks in flight. Each cached task row is three objects the garbage
collector walks in every full collection: 20,000 rows made those pauses 2-3x longer."""


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

    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        """Rows written by recent batches come from a cache rather than a SELECT: the
        runner is the only writer of these tables, and it calls `forget()` when a
        transaction holding this projection's writes does not commit."""
        keyed, keys, created = self.keyed(events)
        if not keys:
            return
        rows, missing = from_cache(self._recent, keys - created)
        if missing:
            rows.update(self.load_rows(db, missing))
        changed = self.fold_all(rows, keyed, keys)
        for sql, params in self.writes(changed):
            db.execute(sql, params)
        remember(self._recent, changed, _RECENT_ROWS)

    def forget(self) -> None:
        """Drop the cached rows: the database is the truth again."""
        self._recent.clear()

    @functools.cached_property
    def _recent(self) -> dict[str, Row | None]:
        return {}

    # -- the steps of `apply`, which a rebuild drives one by one -------------------------

    def keyed(self, events: Iterable[Event]) -> tuple[list[tuple[str, Event]], set[str], set[str]]:
        """(key, event) for the events with a row; the keys; those a batch event creates."""
        key_of, creates = self.key_of, self.creates
        keyed: list[tuple[str, Event]] = []
        keys: set[str] = set()
        created: set[str] = set()
        for event in events:
            key = key_of(event)
            if key is None:
                continue
            keyed.append((key, event))
            if key not in keys:
                keys.add(key)
                if creates(event):
                    created.add(key)
        return keyed, keys, created

    def fold_all(
        self, rows: dict[str, Row | None], keyed: list[tuple[str, Event]], keys: set[str]
    ) -> dict[str, Row | None]:
        """Fold `keyed` into `rows` (the loaded ones, no created key): the changed rows."""
        fold, get = self.fold, rows.get
        for key, event in keyed:
            rows[key] = fold(get(key), event)
        return {key: rows[key] for key in keys}

    def writes(self, changed: dict[str, Row | None]) -> list[tuple[str, list[Any]]]:
        """The statements storing `changed`: a few multi-row INSERTs, one DELETE.

        A few large statements rather than one per row (executemany): each `execute`
        is a trip through the sqlite3 module's statement cache and bindings.
        """
        out: list[tuple[str, list[Any]]] = []
        upserts = [row for row in changed.values() if row is not None]
        if upserts:
            flat, width, step = self._flatten(upserts), len(self.columns), self._sql.step
            for i in range(0, len(upserts), step):
                count = min(step, len(upserts) - i)
                out.append((self._sql.upsert(count), flat[i * width : (i + count) * width]))
        if len(upserts) < len(changed):
            deletes = [key for key, row in changed.items() if row is None]
            out.append((self._sql.delete, [_json_encode(deletes)]))
        return out

    def load_rows(self, db: sqlite3.Connection, keys: set[str]) -> dict[str, Row | None]:
        """The stored rows of `keys` (those that exist)."""
        rows = db.execute(self._sql.load, (_json_encode(list(keys)),)).fetchall()
        return {values[0]: self.decode_row(values) for values in rows}

    @classmethod
    def decode_row(cls, values: Sequence[Any]) -> Row:
        """A stored row (all `columns`, in order) as the dict `fold` works on."""
        json_columns = cls.json_columns
        return {
            column: _json_decode(value) if column in json_columns and value is not None else value
            for column, value in zip(cls.columns, values, strict=True)
        }

    def _flatten(self, rows: list[Row]) -> list[Any]:
        """Every row's column values end to end, JSON columns as text, column by column
        (a handful of C calls per column rather than a Python step per value)."""
        try:
            columns = list(zip(*map(self._values, rows), strict=True))
        except KeyError:  # a row without some column: that column is NULL
            columns = [tuple(row.get(c) for row in rows) for c in self.columns]
        for i in self._json_indexes:
            values = columns[i]
            texts: list[str | None] = list(_json_lines(values).decode().split("\n"))
            texts.pop()
            if None in values:
                texts = [None if v is None else t for v, t in zip(values, texts, strict=True)]
            columns[i] = tuple(texts)
        return list(itertools.chain.from_iterable(zip(*columns, strict=True)))

    @functools.cached_property
    def _values(self) -> Callable[[Row], tuple[Any, ...]]:
        get = operator.itemgetter(*self.columns)
        return get if len(self.columns) > 1 else lambda row: (get(row),)

    @functools.cached_property
    def _json_indexes(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.columns) if c in self.json_columns)

    @functools.cached_property
    def _sql(self) -> _RowSQL:
        return _RowSQL(self.table, self.key, self.columns, self.json_columns)


def from_cache(
    cache: dict[str, Row | None], keys: Iterable[str]
) -> tuple[dict[str, Row | None], set[str]]:
    """The rows of `keys` that `cache` holds, and the keys it does not (to be read)."""
    rows: dict[str, Row | None] = {}
    missing: set[str] = set()
    for key in keys:
        if key in cache:
            rows[key] = cache[key]
        else:
            missing.add(key)
    return rows, missing


def remember(cache: dict[str, Row | None], changed: dict[str, Row | None], limit: int) -> None:
    """Keep `changed` in `cache`, starting afresh once it holds more than `limit` rows."""
    if len(cache) > limit:
        cache.clear()
    cache.update(changed)


class _RowSQL:
    """A row projection's statements. The keys to load go in as one JSON array; rows go
    in as multi-row VALUES, every value bound as it is (a REAL stays bit for bit)."""

    def __init__(
        self, table: str, key: str, columns: tuple[str, ...], json_columns: frozenset[str]
    ) -> None:
        if columns[0] != key:
            raise ValueError(f"{table}: the key column must come first")
        names = ", ".join(columns)
        self._insert = f"INSERT OR REPLACE INTO {table} ({names}) VALUES "
        self._row = f"({', '.join('?' * len(columns))})"
        self._upserts: dict[int, str] = {}
        # 32,766 bound values per statement at most (SQLite's default limit).
        self.step = max(1, min(500, 32_766 // len(columns)))
        self.delete = f"DELETE FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))"
        # Plain columns, not json_array(): SQLite's JSON prints REALs with 15 digits.
        self.load = f"SELECT {names} FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))"

    def upsert(self, rows: int) -> str:
        sql = self._upserts.get(rows)
        if sql is None:
            sql = self._upserts[rows] = self._insert + ", ".join([self._row] * rows)
        return sql


_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode
_json_lines = msgspec.json.Encoder().encode_lines
