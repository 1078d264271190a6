"""Learning queries: the decision engine's model and the optimizer's record, from the
`learning` projection."""

from __future__ import annotations

from typing import Any

import aiosqlite
import msgspec

from events.learning import HELD_WITHIN, Model, model_decoder

_decode = msgspec.json.Decoder().decode


async def model(db: aiosqlite.Connection) -> Model:
    """The decision engine's model as the log has it (empty before any task ran)."""
    rows = list(await db.execute_fetchall("SELECT model FROM learning_model WHERE id = 1"))
    return model_decoder.decode(rows[0][0]) if rows else Model()


async def caching(db: aiosqlite.Connection) -> set[str]:
    """The task types whose results may come from the result cache."""
    rows = await db.execute_fetchall("SELECT task_type FROM caching WHERE enabled = 1")
    return {row[0] for row in rows}


async def cached_task(db: aiosqlite.Connection, key: str) -> str | None:
    """The task whose result has this cache key, if one completed."""
    rows = list(
        await db.execute_fetchall("SELECT task_id FROM result_cache WHERE cache_key = ?", (key,))
    )
    return rows[0][0] if rows else None


async def decision_engine_status(
    db: aiosqlite.Connection, scheduler: str, exploration: float
) -> dict[str, Any]:
    """GET /ml/decision-engine/status: the seed's keys, each from the model."""
    m = await model(db)
    return {
        "status": "active" if scheduler == "learned" else "inactive",
        "scheduler": scheduler,
        "model_version": str(m.version),
        "metrics": {
            "accuracy": _rounded(m.accuracy),
            "predictions_made": m.decisions,
            "avg_decision_time": m.decision_time / m.decisions if m.decisions else None,
            "optimization_score": _rounded(m.optimization_score),
            "predictions_judged": m.judged,
            "held_within": HELD_WITHIN,
            "explored": m.explored,
            "exploration_bound": exploration,
        },
        "recent_decisions": [
            _decode(row[0])
            for row in await db.execute_fetchall(
                "SELECT decision FROM ml_decisions ORDER BY position DESC"
            )
        ],
        "agents": {
            pair: {"mean_duration": s.mean, "success_rate": s.success, "observations": s.n}
            for pair, s in sorted(m.trained.items())
        },
    }


async def optimizer_rounds(db: aiosqlite.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The last training rounds, newest first."""
    cursor = await db.execute(
        "SELECT position, at, episodes, avg_reward, exploration_rate, learning_rate,"
        " policy_reward, static_reward, improvement, workload FROM optimizer_rounds"
        " ORDER BY position DESC LIMIT ?",
        (limit,),
    )
    rows = await _dicts(cursor)
    for row in rows:
        row["workload"] = _decode(row["workload"])
    return rows


async def optimizer_totals(db: aiosqlite.Connection) -> dict[str, Any]:
    rows = list(
        await db.execute_fetchall(
            "SELECT coalesce(sum(episodes), 0), count(*) FROM optimizer_rounds"
        )
    )
    actions = list(
        await db.execute_fetchall(
            "SELECT coalesce(sum(applied), 0), count(*) - coalesce(sum(applied), 0),"
            " avg(reward) FROM optimizer_actions WHERE action != 'no_change'"
        )
    )
    return {
        "episodes": rows[0][0],
        "rounds": rows[0][1],
        "applied": actions[0][0],
        "recommended": actions[0][1],
        "avg_live_reward": actions[0][2],
    }


async def applied_recommendation(db: aiosqlite.Connection, action_id: str) -> str | None:
    """The action that applied the recommendation `action_id`, if an operator did."""
    rows = list(
        await db.execute_fetchall(
            "SELECT action_id FROM optimizer_actions WHERE recommendation = ?", (action_id,)
        )
    )
    return rows[0][0] if rows else None


async def optimizer_actions(
    db: aiosqlite.Connection, limit: int = 10, action_id: str | None = None
) -> list[dict[str, Any]]:
    """The latest actions (recommended or applied) and their rewards, newest first."""
    where, params = ("WHERE action_id = ?", (action_id, limit)) if action_id else ("", (limit,))
    cursor = await db.execute(
        "SELECT action_id, at, action, target, value, applied, by_whom, recommendation,"
        " expected_reward, state, reward, impact, judged_at FROM optimizer_actions"
        f" {where} ORDER BY position DESC LIMIT ?",
        params,
    )
    rows = await _dicts(cursor)
    for row in rows:
        row["value"] = None if row["value"] is None else _decode(row["value"])
        row["state"] = _decode(row["state"])
        row["applied"] = bool(row["applied"])
        row["by"] = row.pop("by_whom")
    return rows


async def _dicts(cursor: aiosqlite.Cursor) -> list[dict[str, Any]]:
    """The cursor's rows as dicts by column name."""
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


async def tasks_since(db: aiosqlite.Connection, since: str) -> list[dict[str, Any]]:
    """The tasks (no composite) created at or after `since` (ISO 8601), or unfinished,
    with their agent's type: what the optimizer fits its simulator on."""
    cursor = await db.execute(
        "SELECT t.task_type, t.status, t.parameters, a.agent_type, t.created_at,"
        " t.started_at, CASE WHEN t.status = 'completed' THEN t.completed_at"
        " WHEN t.status IN ('failed', 'cancelled') THEN t.updated_at END"
        " FROM tasks t LEFT JOIN agents a ON a.agent_id = t.agent_id"
        " WHERE (t.created_at >= ? OR t.status IN ('queued', 'in_progress'))"
        " AND (t.parts IS NULL OR t.parts = '{}') ORDER BY t.created_at",
        (since,),
    )
    names = ("task_type", "status", "parameters", "agent_type", "created", "started", "ended")
    rows = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
    for row in rows:
        row["parameters"] = _decode(row["parameters"])
    return rows
