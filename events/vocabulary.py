"""The words every layer shares: priorities, task states and error codes.

They are `StrEnum`s: each member *is* its string, so it compares equal to the text in
the log, in SQLite and on the wire ("high" == Priority.HIGH), and msgspec, pydantic and
the OpenAPI document all see the same closed set. Adding a member is a schema change
for readers of the log: old events must still decode.
"""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Scheduling order: 0 goes first."""
        return _RANK[self]


_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class TaskStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
UNFINISHED = (TaskStatus.QUEUED, TaskStatus.IN_PROGRESS)


class ErrorCode(StrEnum):
    """Why a command or a request was refused: the seed's `error.code`. The edge maps
    each to its HTTP status in one table (api/errors.py)."""

    INVALID_REQUEST = "INVALID_REQUEST"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    GONE = "GONE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    AI_PROVIDER_UNAVAILABLE = "AI_PROVIDER_UNAVAILABLE"
    WORKFLOW_NOT_FOUND = "WORKFLOW_NOT_FOUND"
    INVALID_CONFIGURATION = "INVALID_CONFIGURATION"
    WORKFLOW_TRIGGER_FAILED = "WORKFLOW_TRIGGER_FAILED"
