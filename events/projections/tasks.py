"""The `tasks` read model: one row per task, what every task query reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.types import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)
from events.vocabulary import TaskStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(ts: datetime) -> int:
    """Exact microseconds since the epoch (no float on the way)."""
    return (ts - _EPOCH) // _MICROSECOND


_last_iso: tuple[datetime, str] = (_EPOCH, "1970-01-01T00:00:00.000000Z")


def iso(ts: datetime) -> str:
    """UTC ISO 8601 with a Z: sorts as text, so date filters are string comparisons."""
    global _last_iso
    last = _last_iso
    if last[0] is ts or last[0] == ts:  # events of one group commit share their time
        return last[1]
    _last_iso = last = (ts, ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return last[1]


class TasksProjection(RowProjection):
    name: ClassVar[str] = "tasks"
    version: ClassVar[int] = 4
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {
            "task.created",
            "task.started",
            "task.progress",
            "task.completed",
            "task.failed",
            "task.cancelled",
            "task.requeued",
        }
    )
    tables: ClassVar[tuple[str, ...]] = ("tasks",)
    indexes: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, created_at)",
        "CREATE INDEX IF NOT EXISTS tasks_type ON tasks (task_type, created_at)",
        "CREATE INDEX IF NOT EXISTS tasks_agent ON tasks (agent_id, created_at)",
        "CREATE INDEX IF NOT EXISTS tasks_created ON tasks (created_at)",
    )
    table: ClassVar[str] = "tasks"
    key: ClassVar[str] = "task_id"
    columns: ClassVar[tuple[str, ...]] = (
        "task_id",
        "task_type",
        "status",
        "priority",
        "progress",
        "parameters",
        "result",
        "error",
        "reason",
        "agent_id",
        "agents",
        "attempt",
        "max_attempts",
        "callback_url",
        "assigned_agents",
        "created_at",
        "started_at",
        "updated_at",
        "completed_at",
        "cancelled_at",
        "position",
        "version",
        "api_key_id",
        "request_hash",
        "estimated_completion",
        "parent_id",
        "parts",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset(
        {"parameters", "result", "agents", "assigned_agents", "parts"}
    )

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS tasks (
            task_id         TEXT PRIMARY KEY,
            task_type       TEXT NOT NULL,
            status          TEXT NOT NULL,
            priority        TEXT NOT NULL,
            progress        INTEGER NOT NULL,
            parameters      TEXT NOT NULL,
            result          TEXT,
            error           TEXT,
            reason          TEXT,
            agent_id        TEXT,
            agents          TEXT NOT NULL,
            attempt         INTEGER NOT NULL,
            max_attempts    INTEGER NOT NULL,
            callback_url    TEXT,
            assigned_agents TEXT NOT NULL,
            created_at      TEXT NOT NULL,
            started_at      TEXT,
            updated_at      TEXT NOT NULL,
            completed_at    TEXT,
            cancelled_at    TEXT,
            position        INTEGER NOT NULL,
            version         INTEGER NOT NULL,
            api_key_id      TEXT,
            request_hash    TEXT,
            estimated_completion TEXT,
            parent_id       TEXT,
            parts           TEXT NOT NULL
        );
        """

    def creates(self, event: Event) -> bool:
        return event.type == "task.created"

    def key_of(self, event: Event) -> str | None:
        task_id: str = event.data.task_id
        return task_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        if isinstance(data, TaskCreated):
            return {
                "task_id": data.task_id,
                "task_type": data.task_type,
                "status": TaskStatus.QUEUED,
                "priority": data.priority,
                "progress": 0,
                "parameters": data.parameters,
                "result": None,
                "error": None,
                "reason": None,
                "agent_id": None,
                "agents": {},
                "attempt": 0,
                "max_attempts": data.max_attempts,
                "callback_url": data.callback_url,
                "assigned_agents": data.assigned_agents,
                "created_at": at,
                "started_at": None,
                "updated_at": at,
                "completed_at": None,
                "cancelled_at": None,
                "position": event.position,
                "version": event.version,
                "api_key_id": data.api_key_id,
                "request_hash": data.request_hash,
                "estimated_completion": data.estimated_completion,
                "parent_id": data.parent_id,
                "parts": data.parts,
            }
        if row is None:  # an event for a task whose creation this model never saw
            return None
        row["updated_at"], row["position"], row["version"] = at, event.position, event.version
        agents = row["agents"]
        match data:
            case TaskStarted(agent_id=agent_id, attempt=attempt):
                row.update(
                    status=TaskStatus.IN_PROGRESS, agent_id=agent_id, attempt=attempt, progress=0
                )
                row["started_at"] = row["started_at"] or at
                if agent_id is not None:
                    agents[agent_id] = {"status": "working", "progress": 0}
            case TaskProgressed(agent_id=agent_id, progress=progress):
                row["progress"] = progress
                agents[agent_id] = {
                    "status": data.agent_status or "working",
                    "progress": progress if data.agent_progress is None else data.agent_progress,
                }
            case TaskCompleted(agent_id=agent_id, result=result):
                row.update(
                    status=TaskStatus.COMPLETED, progress=100, result=result, completed_at=at
                )
                if agent_id is not None:
                    agents[agent_id] = {"status": TaskStatus.COMPLETED, "progress": 100}
            case TaskFailed(agent_id=agent_id, reason=reason, error=error):
                row.update(status=TaskStatus.FAILED, reason=reason, error=error, completed_at=at)
                if agent_id is not None:
                    agents[agent_id] = {
                        "status": TaskStatus.FAILED,
                        "progress": agents.get(agent_id, {}).get("progress", 0),
                    }
            case TaskCancelled(reason=reason):
                row.update(status=TaskStatus.CANCELLED, reason=reason, cancelled_at=at)
                for state in agents.values():
                    if state["status"] == "working":
                        state["status"] = TaskStatus.CANCELLED
            case TaskRequeued(attempt=attempt, reason=reason):
                row.update(status=TaskStatus.QUEUED, attempt=attempt, reason=reason, progress=0)
                for state in agents.values():
                    if state["status"] == "working":
                        state["status"] = "abandoned"
        return row
