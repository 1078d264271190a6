"""GET /system/info: version, agents, providers and performance, from projections."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from api.auth.scopes import READ
from api.deps import port_of
from events.queries import agents as agent_queries
from events.queries import metrics as metric_queries
from events.queries import tasks as task_queries

router = APIRouter(prefix="/system", tags=["system"], dependencies=[READ])


def _provider_counts(providers: list[dict[str, Any]]) -> dict[str, int]:
    """Active: usable now; failed: cooling down after failures, out of quota or with an
    open breaker; the rest are unconfigured, disabled or resting after a rate limit."""
    failed = ("failed", "quota_exhausted")
    return {
        "total": len(providers),
        "active": sum(p["status"] == "active" for p in providers),
        "failed": sum(p["status"] in failed for p in providers),
        "unconfigured": sum(p["status"] == "unconfigured" for p in providers),
    }


@router.get("/info")
async def get_system_info(request: Request) -> dict[str, Any]:
    port = port_of(request)
    db = port.reader
    agents = await agent_queries.list_agents(db)
    hour = await metric_queries.last_hour(db, time.time())
    return {
        "version": port.version,
        "agents": {
            "total": len(agents),
            "active": sum(a["status"] == "active" for a in agents),
            "types": sorted({a["agent_type"] for a in agents}),
        },
        "ai_providers": _provider_counts(port.ai_providers()["providers"]),
        # The last hour, as GET /metrics/history has it: seconds from start to end,
        # tasks completed per minute, completed / (completed + failed).
        "performance": {
            "avg_response_time": hour.avg_duration,
            "throughput": hour.throughput,
            "success_rate": hour.success_rate,
        },
        "tasks": await task_queries.count_by_status(db),
        "event_log": {"head": port.head},
    }
