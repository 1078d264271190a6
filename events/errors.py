"""Errors of the event log.

    EventsError
     ├── ConcurrencyError        expected_version did not match the stream's version
     ├── UnknownEventType        a type name with no registered data Struct
     ├── EventDecodeError        stored bytes that do not decode as their type
     ├── StoreClosedError        the store was closed while a call was pending
     ├── StoreWriteError         the database refused a commit (disk full, I/O error ...)
     ├── ProjectionError         a projection could not be rebuilt or dropped
 └── ProjectionTimeoutError  a projection did not reach a position in time (also TimeoutError)

Driver (sqlite3) errors are translated into these in one place: the store's writer.
"""

from __future__ import annotations


class EventsError(Exception):
    """Root of every error raised by `events`."""


class ConcurrencyError(EventsError):
    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream!r}: expected version {expected}, but it is at version {actual}"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class UnknownEventType(EventsError):
    def __init__(self, type_name: str) -> None:
        super().__init__(f"no event type is registered as {type_name!r}")
        self.type_name = type_name


class EventDecodeError(EventsError):
    def __init__(self, type_name: str, position: int, reason: str) -> None:
        super().__init__(f"event at position {position} ({type_name}) does not decode: {reason}")
        self.type_name = type_name
        self.position = position
        self.reason = reason


class StoreClosedError(EventsError):
    def __init__(self) -> None:
        super().__init__("the event store is closed")


class StoreWriteError(EventsError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"the event store could not commit: {reason}")
        self.reason = reason


class ProjectionError(EventsError):
    def __init__(self, projections: str, reason: str) -> None:
        super().__init__(f"projections {projections}: {reason}")
        self.projections = projections
        self.reason = reason


class ProjectionTimeoutError(EventsError, TimeoutError):
    def __init__(self, projection: str, position: int, reached: int, timeout: float) -> None:
        super().__init__(
            f"projection {projection!r} reached position {reached}, "
            f"not {position}, within {timeout:.3g} s"
        )
        self.projection = projection
        self.position = position
        self.reached = reached
        self.timeout = timeout
