"""Task queries: read the `tasks` projection, never an actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from events.projections.tasks import TasksProjection

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


async def task_stats(db: aiosqlite.Connection, since: str) -> dict[str, Any]:
    rows = list(await db.execute_fetchall("SELECT status, count(*) FROM tasks GROUP BY status"))
    by_status = {status: count for status, count in rows}
    recent = next(
        iter(
            await db.execute_fetchall(
                "SELECT count(*), sum(status = 'completed'), sum(status = 'failed'),"
                " avg(CASE WHEN status = 'completed' THEN"
                " (julianday(completed_at) - julianday(started_at)) * 86400 END)"
                " FROM tasks WHERE completed_at >= ?",
                (since,),
            )
        )
    )
    return {
        "by_status": by_status,
        "finished_recently": recent[0] or 0,
        "completed_recently": recent[1] or 0,
        "failed_recently": recent[2] or 0,
        "avg_duration": recent[3],
    }
