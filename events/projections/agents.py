"""The `agents` read model: each agent's configuration, status and track record."""

from __future__ import annotations

from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.projections.tasks import iso, micros
from events.types import (
    AgentConfigured,
    AgentErrored,
    AgentStarted,
    TaskCancelled,
    TaskCompleted,
    TaskFailed,
    TaskRequeued,
    TaskStarted,
)


class AgentsProjection(RowProjection):
    name: ClassVar[str] = "agents"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {
            "agent.started",
            "agent.configured",
            "agent.error",
            "task.started",
            "task.completed",
            "task.failed",
            "task.cancelled",
            "task.requeued",
        }
    )
    tables: ClassVar[tuple[str, ...]] = ("agents",)
    table: ClassVar[str] = "agents"
    key: ClassVar[str] = "agent_id"
    columns: ClassVar[tuple[str, ...]] = (
        "agent_id",
        "agent_type",
        "name",
        "description",
        "status",
        "capabilities",
        "timeout",
        "max_concurrent_tasks",
        "priority",
        "running",
        "tasks_completed",
        "tasks_failed",
        "busy_us",
        "errors",
        "restarts",
        "last_error",
        "started_at",
        "updated_at",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset({"capabilities", "running"})

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS agents (
            agent_id             TEXT PRIMARY KEY,
            agent_type           TEXT NOT NULL,
            name                 TEXT NOT NULL,
            description          TEXT NOT NULL,
            status               TEXT NOT NULL,
            capabilities         TEXT NOT NULL,
            timeout              REAL NOT NULL,
            max_concurrent_tasks INTEGER NOT NULL,
            priority             TEXT NOT NULL,
            running              TEXT NOT NULL,
            tasks_completed      INTEGER NOT NULL,
            tasks_failed         INTEGER NOT NULL,
            busy_us              INTEGER NOT NULL,
            errors               INTEGER NOT NULL,
            restarts             INTEGER NOT NULL,
            last_error           TEXT,
            started_at           TEXT NOT NULL,
            updated_at           TEXT NOT NULL
        );
        """

    def creates(self, event: Event) -> bool:
        return False  # agent.started comes again on every boot: always look the row up

    def key_of(self, event: Event) -> str | None:
        agent_id: str | None = getattr(event.data, "agent_id", None)
        return agent_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        if isinstance(data, AgentStarted):
            base = row or {
                "tasks_completed": 0,
                "tasks_failed": 0,
                "busy_us": 0,
                "errors": 0,
                "last_error": None,
            }
            base.update(
                agent_id=data.agent_id,
                agent_type=data.agent_type,
                name=data.name,
                description=data.description,
                status="active",
                capabilities=data.capabilities,
                timeout=data.timeout,
                max_concurrent_tasks=data.max_concurrent_tasks,
                priority=data.priority,
                running={},
                restarts=data.restarts,
                started_at=at,
                updated_at=at,
            )
            return base
        if row is None:
            return None
        row["updated_at"] = at
        # Whole microseconds: float sums would differ with batch boundaries after a rebuild.
        running: dict[str, int] = row["running"]
        now = micros(event.ts)
        started = running.pop(getattr(data, "task_id", ""), None)
        busy = now - started if started is not None else 0
        match data:
            case AgentConfigured():
                row.update(
                    timeout=data.timeout,
                    max_concurrent_tasks=data.max_concurrent_tasks,
                    priority=data.priority,
                )
            case AgentErrored(error=error):
                row.update(status="error", last_error=error, errors=row["errors"] + 1)
            case TaskStarted(task_id=task_id):
                running[task_id] = now
            case TaskCompleted():
                row["tasks_completed"] += 1
                row["busy_us"] += busy
            case TaskFailed():
                row["tasks_failed"] += 1
                row["busy_us"] += busy
            case TaskCancelled() | TaskRequeued():
                row["busy_us"] += busy
        return row
