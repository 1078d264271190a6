"""The decision engine's and the optimizer's status, from the `learning` read model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.auth.scopes import ADMIN, READ
from api.deps import port_of, request_meta
from api.errors import check
from events.commands import APPLY_OPTIMIZATION, ApplyOptimization
from events.queries import learning as queries

router = APIRouter(tags=["learning"], dependencies=[READ])

_READ_YOUR_WRITES = 5.0

ENVIRONMENT = "amas_gym_v1"
_STATUS = {"off": "off", "advise": "advising", "act": "optimizing"}


@router.get("/ml/decision-engine/status")
async def get_decision_engine_status(request: Request) -> dict[str, Any]:
    """The model that assigns tasks to agents: its version (retrains), how often its
    predictions held, and its latest decisions with the factors it weighed."""
    port = port_of(request)
    settings = port.learning()
    return await queries.decision_engine_status(
        port.reader, settings["scheduler"], settings["exploration"]
    )


@router.get("/rl/optimizer/status")
async def get_optimizer_status(request: Request) -> dict[str, Any]:
    """The optimizer: its training in the simulator and its actions on this node."""
    port = port_of(request)
    settings = port.learning()
    db = port.reader
    rounds = await queries.optimizer_rounds(db, limit=1)
    totals = await queries.optimizer_totals(db)
    latest = rounds[0] if rounds else None
    return {
        "status": _STATUS[settings["optimizer"]],
        "environment": ENVIRONMENT,
        "mode": settings["optimizer"],
        "metrics": {
            "episodes_completed": totals["episodes"],
            "avg_reward": None if latest is None else round(latest["avg_reward"], 4),
            "optimization_actions_taken": totals["applied"],
            "performance_improvement": None if latest is None else round(latest["improvement"], 4),
            "recommendations_made": totals["recommended"],
            "training_rounds": totals["rounds"],
            "avg_live_reward": totals["avg_live_reward"],
        },
        "recent_optimizations": [
            {
                "action_id": action["action_id"],
                "action": action["action"],
                "target": action["target"],
                "value": action["value"],
                "applied": action["applied"],
                "by": action["by"],
                "expected_reward": action["expected_reward"],
                "reward": action["reward"],
                "impact": action["impact"],
                "at": action["at"],
            }
            for action in await queries.optimizer_actions(db)
        ],
        "current_policy": {
            "exploration_rate": None if latest is None else latest["exploration_rate"],
            "learning_rate": None if latest is None else latest["learning_rate"],
        },
        "last_training": latest,
    }


@router.post("/rl/optimizer/actions/{action_id}/apply", dependencies=[ADMIN])
async def apply_recommendation(action_id: str, request: Request) -> dict[str, Any]:
    """Apply a recommendation (the optimizer in `advise` mode) through the normal
    commands, within the operator's limits; answers the action that applied it. 404 for
    no such recommendation, 409 if it is applied already or now outside the limits."""
    port = port_of(request)
    command = ApplyOptimization(action_id=action_id, meta=request_meta(request))
    reply = check(await port.send(APPLY_OPTIMIZATION, command, timeout=30.0))
    await port.wait_for(reply.position, _READ_YOUR_WRITES, "learning")
    [applied] = await queries.optimizer_actions(port.reader, 1, reply.data["action_id"])
    return applied
