"""Event stores: the contract (`EventStore`) and its SQLite implementation."""

from events.store.base import (
    ANY_VERSION,
    NO_STREAM,
    STORED_FIELDS,
    AppendResult,
    EventStore,
    LogFilter,
    StoredRow,
)
from events.store.sqlite import SQLiteEventStore

__all__ = [
    "ANY_VERSION",
    "NO_STREAM",
    "STORED_FIELDS",
    "AppendResult",
    "EventStore",
    "LogFilter",
    "SQLiteEventStore",
    "StoredRow",
]
