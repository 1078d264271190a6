"""/metrics: the node now (host, tasks, agents), and the history of each metric.

Task figures come from the projections (tasks, agents, and the minute-by-minute
`metrics` model), the host's from the node's sampler; nothing here is a constant.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from api.auth.scopes import READ
from api.deps import port_of
from api.errors import ApiError
from events.clock import now_iso_seconds
from events.queries import agents as agent_queries
from events.queries import metrics as queries
from events.queries import tasks as task_queries
from events.vocabulary import ErrorCode, TaskStatus

router = APIRouter(prefix="/metrics", tags=["metrics"], dependencies=[READ])

UNITS = {
    "response_time": "seconds",
    "throughput": "tasks per minute",
    "success_rate": "ratio",
    "queue_depth": "tasks",
    "cpu_usage": "percent",
    "memory_usage": "percent",
    "disk_usage": "percent",
}


def agent_states(agents: list[dict[str, Any]]) -> dict[str, int]:
    """Active: running a task now; idle: up with nothing to do; error: last seen failing."""
    error = sum(a["status"] == "error" for a in agents)
    active = sum(a["status"] != "error" and bool(a["running"]) for a in agents)
    return {"active": active, "idle": len(agents) - active - error, "error": error}


@router.get("")
async def get_metrics(request: Request) -> dict[str, Any]:
    port = port_of(request)
    db = port.reader
    host = port.host()
    hour = await queries.last_hour(db, time.time())
    by_status = await task_queries.count_by_status(db)
    agents = await agent_queries.list_agents(db)
    return {
        "timestamp": now_iso_seconds(),
        "system": {
            "cpu_usage": host.cpu_usage,
            "memory_usage": host.memory_usage,
            "disk_usage": host.disk_usage,
            "network_io": {
                "bytes_sent": host.bytes_sent,
                "bytes_received": host.bytes_received,
            },
        },
        "performance": {
            "active_tasks": by_status.get(TaskStatus.IN_PROGRESS, 0),
            "queued_tasks": by_status.get(TaskStatus.QUEUED, 0),
            "completed_tasks_1h": hour.completed,
            "failed_tasks_1h": hour.failed,
            "avg_task_duration": hour.avg_duration,
        },
        "agents": agent_states(agents),
    }


def _refuse(parameter: str, given: str, valid: list[str]) -> ApiError:
    return ApiError(
        ErrorCode.INVALID_PARAMETER,
        f"unknown {parameter} {given!r}: one of {', '.join(valid)}",
        {"parameter": parameter, "provided": given, "valid": valid},
    )


@router.get(
    "/history",
    responses={
        400: {"description": "INVALID_PARAMETER: an unknown period or metric (the valid ones "
              "are in `details.valid`), or agent_id with a host metric"},
        404: {"description": "NOT_FOUND: no such agent"},
    },
)  # fmt: skip
async def get_metrics_history(
    request: Request, period: str, metric: str, agent_id: str | None = None
) -> dict[str, Any]:
    """`period` 1h, 6h, 24h, 7d or 30d in 12, 24, 24, 28 or 30 buckets (5 min, 15 min,
    1 h, 6 h, 1 day); `metric` one of response_time, throughput, success_rate,
    queue_depth (tasks; `agent_id` narrows them to one agent) or cpu_usage,
    memory_usage, disk_usage (the node's host)."""
    if period not in queries.PERIODS:
        raise _refuse("period", period, list(queries.PERIODS))
    if metric not in queries.METRICS:
        raise _refuse("metric", metric, list(queries.METRICS))
    port = port_of(request)
    window = queries.Window.of(period, time.time())
    if metric in queries.HOST_METRICS:
        if agent_id is not None:
            raise ApiError(
                ErrorCode.INVALID_PARAMETER,
                f"{metric} is the node's host: agent_id narrows task metrics only",
                {"parameter": "agent_id", "task_metrics": list(queries.TASK_METRICS)},
            )
        values = await port.host_series(metric, window.start, window.step, window.count)
    else:
        if agent_id is not None and await agent_queries.get_agent(port.reader, agent_id) is None:
            raise ApiError(
                ErrorCode.NOT_FOUND, f"agent {agent_id!r} not found", {"agent_id": agent_id}
            )
        buckets = await queries.task_buckets(port.reader, window, agent_id)
        values = queries.task_values(metric, buckets, window.step)
    return {
        "metric": metric,
        "period": period,
        "agent_id": agent_id,
        "interval_seconds": window.step,
        "unit": UNITS[metric],
        "data_points": [
            {"timestamp": stamp, "value": value}
            for stamp, value in zip(window.stamps(), values, strict=True)
        ],
    }
