"""/agents: the agents, their capabilities and configuration."""

from __future__ import annotations

from typing import Any

import aiosqlite
from fastapi import APIRouter, Request

from api.auth.scopes import ADMIN, READ
from api.deps import port_of, request_meta
from api.errors import ApiError, check
from api.schemas import AgentConfigBody
from events.commands import CONFIGURE_AGENT, ConfigureAgent
from events.queries import agents as queries
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/agents", tags=["agents"])


def _configuration(agent: dict[str, Any]) -> dict[str, Any]:
    return {
        "timeout": agent["timeout"],
        "max_concurrent_tasks": agent["max_concurrent_tasks"],
        "priority": agent["priority"],
    }


@router.get("", dependencies=[READ])
async def list_agents(request: Request) -> dict[str, Any]:
    db = port_of(request).reader
    return {
        "agents": [
            {
                "id": a["agent_id"],
                "name": a["name"],
                "type": a["agent_type"],
                "status": a["status"],
                "capabilities": sorted(a["capabilities"]),
                "performance": queries.performance(a),
            }
            for a in await queries.list_agents(db)
        ]
    }


async def _agent_or_404(db: aiosqlite.Connection, agent_id: str) -> dict[str, Any]:
    agent = await queries.get_agent(db, agent_id)
    if agent is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"agent {agent_id!r} not found", {"agent_id": agent_id})
    return agent


@router.get("/{agent_id}", dependencies=[READ])
async def get_agent(agent_id: str, request: Request) -> dict[str, Any]:
    db = port_of(request).reader
    agent = await _agent_or_404(db, agent_id)
    return {
        "id": agent["agent_id"],
        "name": agent["name"],
        "type": agent["agent_type"],
        "description": agent["description"],
        "status": agent["status"],
        "capabilities": agent["capabilities"],
        "configuration": _configuration(agent),
        "performance": queries.performance(agent),
        "restarts": agent["restarts"],
        "last_error": agent["last_error"],
    }


@router.put("/{agent_id}/config", dependencies=[ADMIN])
async def update_agent_config(
    agent_id: str, body: AgentConfigBody, request: Request
) -> dict[str, Any]:
    port = port_of(request)
    db = port.reader
    await _agent_or_404(db, agent_id)
    reply = await port.send(
        CONFIGURE_AGENT,
        ConfigureAgent(
            agent_id=agent_id,
            timeout=body.timeout,
            max_concurrent_tasks=body.max_concurrent_tasks,
            priority=body.priority,
            meta=request_meta(request),
        ),
    )
    await port.wait_for(check(reply).position, 5.0, "agents")
    agent = await _agent_or_404(db, agent_id)
    return {
        "id": agent_id,
        "configuration": _configuration(agent),
        "status": "updated",
        "message": "Agent configuration updated successfully",
    }
