"""Agent queries: read the `agents` projection."""

from __future__ import annotations

from typing import Any

import aiosqlite
import msgspec

from events.projections.agents import AgentsProjection

# The projection's own column list and decoding: one definition of the row.
_COLUMNS = ", ".join(AgentsProjection.columns)
_row = AgentsProjection.decode_row


async def list_agents(db: aiosqlite.Connection) -> list[dict[str, Any]]:
    rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM agents ORDER BY agent_id")
    return [_row(r) for r in rows]


async def get_agent(db: aiosqlite.Connection, agent_id: str) -> dict[str, Any] | None:
    rows = list(
        await db.execute_fetchall(f"SELECT {_COLUMNS} FROM agents WHERE agent_id = ?", (agent_id,))
    )
    return _row(rows[0]) if rows else None


def performance(agent: dict[str, Any]) -> dict[str, Any]:
    done, failed = agent["tasks_completed"], agent["tasks_failed"]
    finished = done + failed
    return {
        "tasks_completed": done,
        "tasks_failed": failed,
        "success_rate": round(done / finished, 4) if finished else None,
        "avg_completion_time": (round(agent["busy_us"] / 1e6 / finished, 3) if finished else None),
        "running_tasks": len(agent["running"]),
    }


async def busy_time(db: aiosqlite.Connection, agent_ids: list[str]) -> tuple[int, int]:
    """Microseconds busy and tasks finished, summed over `agent_ids`."""
    rows = list(
        await db.execute_fetchall(
            "SELECT coalesce(sum(busy_us), 0), coalesce(sum(tasks_completed + tasks_failed), 0)"
            " FROM agents WHERE agent_id IN (SELECT value FROM json_each(?))",
            (msgspec.json.encode(agent_ids).decode(),),
        )
    )
    return int(rows[0][0]), int(rows[0][1])
