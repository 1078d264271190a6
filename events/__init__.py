"""The event log: envelope and types, the store, projections, replay and verify.

Importing `events` registers every event type, so any reader can decode the log.
"""

from events import types
from events.envelope import Event, EventData, Meta, registry
from events.errors import (
    ConcurrencyError,
    EventDecodeError,
    EventsError,
    ProjectionTimeoutError,
    StoreClosedError,
    StoreWriteError,
    UnknownEventType,
)

__all__ = [
    "ConcurrencyError",
    "Event",
    "EventData",
    "EventDecodeError",
    "EventsError",
    "Meta",
    "ProjectionTimeoutError",
    "StoreClosedError",
    "StoreWriteError",
    "UnknownEventType",
    "registry",
    "types",
]
