"""Task commands (`amas.cmd.task.*`), owned by the task manager, and the hand-outs to
agents (`amas.work.<agent type>`, `amas.ctl.work.cancel`)."""

from __future__ import annotations

from typing import Any

import msgspec

from events.envelope import Meta
from events.types.learning import MlDecided
from events.vocabulary import Priority

SUBMIT_TASK = "amas.cmd.task.submit"
CANCEL_TASK = "amas.cmd.task.cancel"
START_TASK = "amas.cmd.task.start"
REPORT_TASK = "amas.cmd.task.report"
CANCEL_WORK = "amas.ctl.work.cancel"
"""Broadcast: whichever node runs the task stops it."""


def work_subject(agent_type: str) -> str:
    """Where tasks for one agent type are handed out (queue group per type)."""
    return f"amas.work.{agent_type}"


class SubmitTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.submit"):
    task_type: str
    parameters: dict[str, Any] = {}
    priority: Priority = Priority.NORMAL
    callback_url: str | None = None
    max_attempts: int = 3
    max_active: int | None = None
    """How many unfinished tasks the submitting key may have (its tier's); None: any."""
    task_id: str | None = None
    """Set when the request carried an Idempotency-Key (derived from it); else new."""
    request_hash: str | None = None
    estimated_completion: str | None = None
    meta: Meta = Meta()


class CancelTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.cancel"):
    task_id: str
    reason: str = "cancelled by request"
    meta: Meta = Meta()


class StartTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.start"):
    """An agent claims a task it was handed; only one claim per attempt wins."""

    task_id: str
    agent_id: str
    attempt: int
    trace: str | None = None
    """The traceparent of the work it reports on (carried here, where a header would cost
    the node more than the field: events/tracing.py)."""
    decision: MlDecided | None = None
    """Why this agent (the decision engine's choice), written with the start."""


class ReportProgress(msgspec.Struct, frozen=True, kw_only=True, tag="task.progress"):
    task_id: str
    agent_id: str
    attempt: int
    progress: int
    message: str = ""
    trace: str | None = None
    """The traceparent of the work it reports on (carried here, where a header would cost
    the node more than the field: events/tracing.py)."""


class CompleteTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.complete"):
    task_id: str
    agent_id: str
    attempt: int
    result: dict[str, Any]
    cache_key: str | None = None
    cached_from: str | None = None
    trace: str | None = None
    """The traceparent of the work it reports on (carried here, where a header would cost
    the node more than the field: events/tracing.py)."""


class FailTask(msgspec.Struct, frozen=True, kw_only=True, tag="task.fail"):
    task_id: str
    agent_id: str
    attempt: int
    reason: str
    error: str = ""
    trace: str | None = None
    """The traceparent of the work it reports on (carried here, where a header would cost
    the node more than the field: events/tracing.py)."""


TaskCommand = SubmitTask | CancelTask | StartTask | ReportProgress | CompleteTask | FailTask


class Work(msgspec.Struct, frozen=True, kw_only=True):
    """A task handed to an agent type's queue group; the agent claims it to get the rest."""

    task_id: str
    agent_id: str
    attempt: int
    trace: str | None = None
    """The traceparent of the event that queued the task."""
    decision: MlDecided | None = None
    """The decision engine's choice of this agent (None: the fixed rule's)."""


class CancelWork(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str


work_decoder = msgspec.msgpack.Decoder(Work)
cancel_work_decoder = msgspec.msgpack.Decoder(CancelWork)
