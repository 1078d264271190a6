"""Tasks: a submission's answer, a task's state, its results, its cancellation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amas.sdk.models._base import Model

FINISHED = frozenset({"completed", "failed", "cancelled"})
"""The statuses a task ends in."""


@dataclass(frozen=True, kw_only=True)
class TaskSubmitted(Model):
    """The answer to a submit: the task's id, queued, and the agents that may run it."""

    task_id: str
    status: str
    estimated_completion: datetime | None = None
    assigned_agents: list[str] = field(default_factory=list)
    callback_secret: str | None = None
    """With a `callback_url`, on the key's first: the secret its deliveries are signed
    with, shown this once."""


@dataclass(frozen=True, kw_only=True)
class AgentProgress(Model):
    status: str
    progress: int = 0


@dataclass(frozen=True, kw_only=True)
class TaskError(Model):
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class Task(Model):
    task_id: str
    task_type: str
    status: str
    """queued, in_progress, completed, failed or cancelled."""
    priority: str = "normal"
    progress: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    attempt: int = 0
    assigned_agents: list[str] = field(default_factory=list)
    agents: dict[str, AgentProgress] = field(default_factory=dict)
    parent_id: str | None = None
    parts: dict[str, str] = field(default_factory=dict)
    error: TaskError | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(frozen=True, kw_only=True)
class TaskResults(Model):
    task_id: str
    status: str
    completed_at: datetime | None = None
    results: dict[str, Any] | None = None
    """What the task's agents returned, by capability (e.g. `echo`, `security_scan`);
    None until it has finished."""
    error: TaskError | None = None


@dataclass(frozen=True, kw_only=True)
class TaskCancellation(Model):
    task_id: str
    status: str
    cancelled_at: datetime | None = None
