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
    parent_id: str | None = None
    """Set on a part of a composite task (e.g. security_scan's port scan)."""
    parts: dict[str, str] = {}
    """A composite task's parts: part name -> the task id that runs it. No agent runs
    the composite itself; it ends when its parts have."""


class TaskStarted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.started"

    task_id: str
    agent_id: str | None
    """None for a composite task: it starts when its first part does."""
    attempt: int = 1
    task_type: str | None = None
    """So that a reader of durations by type needs no other event (None in older logs)."""


class TaskProgressed(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "task.progress"

    task_id: str
    agent_id: str
    progress: int
    message: str = ""
    agent_status: str | None = None
    """On a composite task, where its part on `agent_id` stands (working, completed,
    failed, abandoned) and how far (agent_progress); `progress` is the whole task's."""
    agent_progress: int | None = None


class TaskCompleted(EventData, frozen=True, kw_only=True, omit_defaults=True):
    """(The cache fields are left out when empty: most completions have none.)"""

    type_name: ClassVar[str] = "task.completed"

    task_id: str
    agent_id: str | None
    """None for a composite task: its parts' agents completed theirs."""
    result: dict[str, Any]
    cache_key: str | None = None
    """The result cache's key when caching was on for the task's type: the type, the
    parameters and a fingerprint of the inputs they name (files' contents)."""
    cached_from: str | None = None
    """The task whose result this is, when it came from the cache."""


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
