"""Events of the task aggregate (stream `task-<id>`)."""

from __future__ import annotations

from typing import Any, ClassVar

from events.envelope import EventData
from events.vocabulary import Priority


class TaskCreated(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.created"

    task_id: str
    task_type: str
    parameters: dict[str, Any]
    priority: Priority = Priority.NORMAL
    callback_url: str | None = None
    assigned_agents: list[str] = []
    max_attempts: int = 3
    api_key_id: str | None = None
    """The key that submitted it: its tier bounds that key's unfinished tasks."""
    request_hash: str | None = None
    """Of the request that created it, when it carried an Idempotency-Key."""
    estimated_completion: str | None = None


class TaskStarted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.started"

    task_id: str
    agent_id: str
    attempt: int = 1


class TaskProgressed(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.progress"

    task_id: str
    agent_id: str
    progress: int
    message: str = ""


class TaskCompleted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.completed"

    task_id: str
    agent_id: str
    result: dict[str, Any]


class TaskFailed(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.failed"

    task_id: str
    reason: str
    error: str = ""
    agent_id: str | None = None


class TaskCancelled(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.cancelled"

    task_id: str
    reason: str = "cancelled by request"
    agent_id: str | None = None
    """The agent that was working on it, if any."""


class TaskRequeued(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.requeued"

    task_id: str
    attempt: int
    """The attempt that was abandoned; the next one is attempt + 1."""
    reason: str
    agent_id: str | None = None
