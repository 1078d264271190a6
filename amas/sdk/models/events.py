"""The event log: envelopes as NATS subscribers and `GET /events` get them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amas.sdk.models._base import Model

TASK_ENDINGS = frozenset({"task.completed", "task.failed", "task.cancelled"})
"""The event types after which a task has no more events."""


@dataclass(frozen=True, kw_only=True)
class Event(Model):
    event_id: str
    stream: str
    """The aggregate: a task's id, `agent-<id>`, `system` ..."""
    version: int
    """Per stream, from 1."""
    position: int
    """In the whole log, from 1."""
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    ts: datetime | None = None
    schema: int = 1
    hash: str = ""

    @property
    def ends_task(self) -> bool:
        return self.type in TASK_ENDINGS


@dataclass(frozen=True, kw_only=True)
class Verification(Model):
    """The hash chain walked from position 1: where and why it breaks, if it does."""

    ok: bool
    events: int
    first_bad_position: int | None = None
    reason: str | None = None
    head: int = 0
