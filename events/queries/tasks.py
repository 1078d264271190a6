"""Task queries: read the `tasks` projection, never an actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite
import msgspec

from events.projections.tasks import TasksProjection
from events.vocabulary import UNFINISHED, Priority, TaskStatus

# The projection's own column list and decoding: one definition of the row.
_COLUMNS = ", ".join(TasksProjection.columns)
_row = TasksProjection.decode_row


async def get_task(db: aiosqlite.Connection, task_id: str) -> dict[str, Any] | None:
    rows = list(
        await db.execute_fetchall(f"SELECT {_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,))
    )
    return _row(rows[0]) if rows else None


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    agent_id: str | None = None
    task_type: str | None = None
    priority: str | None = None
    from_date: str | None = None
    to_date: str | None = None


async def list_tasks(
    db: aiosqlite.Connection, where: TaskFilter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    clauses, params = [], []
    for column in ("status", "agent_id", "task_type", "priority"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.from_date is not None:
        clauses.append("created_at >= ?")
        params.append(where.from_date)
    if where.to_date is not None:
        clauses.append("created_at <= ?")
        params.append(where.to_date)
    sql_where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    total_rows = list(await db.execute_fetchall(f"SELECT count(*) FROM tasks {sql_where}", params))
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM tasks {sql_where} ORDER BY created_at DESC, task_id DESC"
        " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [_row(r) for r in rows], int(total_rows[0][0])


async def count_by_status(db: aiosqlite.Connection) -> dict[str, int]:
    """How many tasks are in each status (those with none are left out)."""
    rows = await db.execute_fetchall("SELECT status, count(*) FROM tasks GROUP BY status")
    return {status: count for status, count in rows}


async def queued_count(db: aiosqlite.Connection) -> int:
    """How many tasks wait for an agent."""
    rows = list(
        await db.execute_fetchall(
            "SELECT count(*) FROM tasks WHERE status = ?", (TaskStatus.QUEUED,)
        )
    )
    return int(rows[0][0])


class UnfinishedTask(msgspec.Struct, frozen=True, kw_only=True):
    """What the task manager and the scheduler need of a task that has not ended."""

    task_id: str
    task_type: str
    parameters: dict[str, Any]
    priority: Priority
    status: TaskStatus
    version: int
    attempt: int
    max_attempts: int
    agent_id: str | None
    api_key_id: str | None
    parent_id: str | None = None
    parts: dict[str, str] = {}


async def unfinished_tasks(db: aiosqlite.Connection) -> list[UnfinishedTask]:
    """Queued and running tasks, oldest first."""
    rows = await db.execute_fetchall(
        "SELECT task_id, task_type, parameters, priority, status, version, attempt,"
        " max_attempts, agent_id, api_key_id, parent_id, parts FROM tasks"
        " WHERE status IN (?, ?) ORDER BY created_at",
        UNFINISHED,
    )
    return [
        UnfinishedTask(
            task_id=r[0],
            task_type=r[1],
            parameters=msgspec.json.decode(r[2]),
            priority=Priority(r[3]),
            status=TaskStatus(r[4]),
            version=r[5],
            attempt=r[6],
            max_attempts=r[7],
            agent_id=r[8],
            api_key_id=r[9],
            parent_id=r[10],
            parts=msgspec.json.decode(r[11]),
        )
        for r in rows
    ]


async def type_and_priority(db: aiosqlite.Connection, task_id: str) -> tuple[str, Priority] | None:
    rows = list(
        await db.execute_fetchall(
            "SELECT task_type, priority FROM tasks WHERE task_id = ?", (task_id,)
        )
    )
    return (rows[0][0], Priority(rows[0][1])) if rows else None
