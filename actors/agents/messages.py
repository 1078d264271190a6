"""Messages an agent actor understands."""

from __future__ import annotations

import msgspec

from events.commands import Work


class Assign(msgspec.Struct, frozen=True):
    work: Work
    trace: str | None = None
    """The traceparent the hand-out came with."""


class Finished(msgspec.Struct, frozen=True):
    task_id: str


class Reconfigure(msgspec.Struct, frozen=True, kw_only=True):
    timeout: float | None = None
    max_concurrent_tasks: int | None = None
    priority: str | None = None
