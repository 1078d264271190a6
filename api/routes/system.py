"""GET /system/info: version, agents, providers and performance, from projections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from api.auth.scopes import READ
from api.deps import port_of
from events.clock import iso
from events.queries import agents as agent_queries
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
    hour_ago = iso(datetime.now(UTC) - timedelta(hours=1))
    stats = await task_queries.task_stats(db, hour_ago)
    finished = stats["completed_recently"] + stats["failed_recently"]
    return {
        "version": port.version,
        "agents": {
            "total": len(agents),
            "active": sum(a["status"] == "active" for a in agents),
            "types": sorted({a["agent_type"] for a in agents}),
        },
        "ai_providers": _provider_counts(port.ai_providers()["providers"]),
        "performance": {
            "avg_response_time": (
                round(stats["avg_duration"], 3) if stats["avg_duration"] is not None else None
            ),
            "throughput": round(stats["finished_recently"] / 3600, 3),
            "success_rate": (
                round(stats["completed_recently"] / finished, 4) if finished else None
            ),
        },
        "tasks": stats["by_status"],
        "event_log": {"head": port.head},
    }
