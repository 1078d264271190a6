"""Workflow queries: read the `workflows` and `workflow_logs` projections."""

from __future__ import annotations

import statistics
from typing import Any

import aiosqlite
import msgspec

from events.projections.workflows import WorkflowsProjection

_COLUMNS = ", ".join(WorkflowsProjection.columns)
_row = WorkflowsProjection.decode_row
LEVELS = ("debug", "info", "warning", "error")


async def get_workflow(db: aiosqlite.Connection, workflow_id: str) -> dict[str, Any] | None:
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM workflows WHERE workflow_id = ?", (workflow_id,)
        )
    )
    return _row(rows[0]) if rows else None


async def list_workflows(
    db: aiosqlite.Connection,
    workflow_type: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    clauses, params = [], []
    for column, value in (("workflow_type", workflow_type), ("status", status)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    total = list(await db.execute_fetchall(f"SELECT count(*) FROM workflows {where}", params))
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM workflows {where} ORDER BY started_at DESC, workflow_id DESC"
        " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [_row(r) for r in rows], int(total[0][0])


async def unfinished_workflows(db: aiosqlite.Connection) -> list[str]:
    rows = await db.execute_fetchall(
        "SELECT workflow_id FROM workflows WHERE status = 'running' ORDER BY started_at"
    )
    return [r[0] for r in rows]


async def median_duration(db: aiosqlite.Connection, workflow_type: str) -> float | None:
    """Seconds, over this type's last 50 completed runs (None before the first)."""
    rows = await db.execute_fetchall(
        "SELECT duration_s FROM workflows WHERE workflow_type = ? AND status = 'completed'"
        " AND duration_s IS NOT NULL ORDER BY completed_at DESC LIMIT 50",
        (workflow_type,),
    )
    durations = [r[0] for r in rows]
    return round(statistics.median(durations), 3) if durations else None


async def logs(
    db: aiosqlite.Connection, workflow_id: str, level: str | None, limit: int, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Log lines at `level` and above, oldest first."""
    levels = LEVELS[LEVELS.index(level) :] if level else LEVELS
    marks = ", ".join("?" for _ in levels)
    where = f"WHERE workflow_id = ? AND level IN ({marks})"
    total = list(
        await db.execute_fetchall(
            f"SELECT count(*) FROM workflow_logs {where}", (workflow_id, *levels)
        )
    )
    rows = await db.execute_fetchall(
        f"SELECT timestamp, level, message, layer FROM workflow_logs {where}"
        " ORDER BY position LIMIT ? OFFSET ?",
        (workflow_id, *levels, limit, offset),
    )
    entries = [{"timestamp": r[0], "level": r[1], "message": r[2], "layer": r[3]} for r in rows]
    return entries, int(total[0][0])


async def started_since(
    db: aiosqlite.Connection, since: str, workflow_type: str | None
) -> list[dict[str, Any]]:
    """Type, status, duration and providers of each workflow started since `since`."""
    where, params = "WHERE started_at >= ?", [since]
    if workflow_type is not None:
        where += " AND workflow_type = ?"
        params.append(workflow_type)
    rows = list(
        await db.execute_fetchall(
            f"SELECT workflow_type, status, duration_s, ai_providers_used FROM workflows {where}",
            params,
        )
    )
    return [
        {"workflow_type": r[0], "status": r[1], "duration_s": r[2],
         "ai_providers_used": msgspec.json.decode(r[3])}
        for r in rows
    ]  # fmt: skip


async def step_outputs(
    db: aiosqlite.Connection, workflow_type: str, step: str, limit: int
) -> list[dict[str, Any]]:
    """What `step` returned in this type's last `limit` completed runs, newest first."""
    rows = await db.execute_fetchall(
        "SELECT outputs FROM workflows WHERE workflow_type = ? AND status = 'completed'"
        " ORDER BY completed_at DESC LIMIT ?",
        (workflow_type, limit),
    )
    found = [msgspec.json.decode(r[0]).get(step) for r in rows]
    return [output for output in found if isinstance(output, dict)]


async def configuration(db: aiosqlite.Connection) -> dict[str, dict[str, Any]]:
    """Each workflow type's settings as operators last set them."""
    rows = await db.execute_fetchall("SELECT workflow_type, settings FROM workflow_config")
    return {r[0]: msgspec.json.decode(r[1]) for r in rows}
