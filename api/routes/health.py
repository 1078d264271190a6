"""GET /health: is the node up, and is each of its parts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import port_of

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={
        503: {
            "description": "a part of the node is down: the same body, `status: degraded`",
            "content": {"application/json": {"schema": {}}},
        }
    },
)
async def get_health(request: Request) -> JSONResponse:
    port = port_of(request)
    services = port.services()
    healthy = all(state == "running" for state in services.values())
    body: dict[str, Any] = {
        "status": "healthy" if healthy else "degraded",
        "version": port.version,
        "uptime": round(port.uptime),
        "services": services,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
