"""/workflows: trigger the AI workflows, follow them, read their logs, cancel them.

Triggers are commands to the workflow engine; everything read comes from the
`workflows` and `workflow_logs` projections (a GET right after a trigger waits for the
projection to have it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from api.auth.scopes import ADMIN, READ, WRITE
from api.deps import caught_up, port_of, request_meta
from api.errors import ApiError, check
from api.port import NodePort
from api.schemas import (
    ApproveBody,
    IssueResponderTriggerBody,
    OrchestratorTriggerBody,
    SelfImproverTriggerBody,
    WorkflowConfigBody,
)
from events.clock import iso
from events.commands import (
    APPROVE_WORKFLOW,
    CANCEL_WORKFLOW,
    CONFIGURE_WORKFLOWS,
    TRIGGER_WORKFLOW,
    ApproveWorkflow,
    CancelWorkflow,
    ConfigureWorkflows,
    TriggerWorkflow,
)
from events.queries import workflows as queries
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/workflows", tags=["workflows"])

_READ_YOUR_WRITES = 5.0
_TIMEFRAMES = {"1h": 1, "24h": 24, "7d": 7 * 24, "30d": 30 * 24}


def _layer_key(layers: list[str], layer: str) -> str:
    return f"layer{layers.index(layer) + 1}_{layer}"


def _not_found(workflow_id: str) -> ApiError:
    return ApiError(
        ErrorCode.WORKFLOW_NOT_FOUND,
        f"workflow {workflow_id!r} not found",
        {"workflow_id": workflow_id},
    )


async def _trigger(
    request: Request,
    workflow_type: str,
    body: Any,
    message: str,
    field: str,
    stages: tuple[str, ...],
) -> dict[str, Any]:
    """Trigger a workflow with the fields the client set (the others take the type's
    configured defaults); the seed's answer: its id, the estimate, each stage queued or
    pending."""
    port = port_of(request)
    parameters = body.model_dump(exclude_unset=True, exclude_none=True)
    command = TriggerWorkflow(
        workflow_type=workflow_type, parameters=parameters, meta=request_meta(request)
    )
    reply = await port.send(TRIGGER_WORKFLOW, command)
    if reply.code == ErrorCode.INVALID_PARAMETER:
        raise ApiError(ErrorCode.INVALID_CONFIGURATION, reply.message or "invalid", reply.details)
    reply = check(reply)
    estimate = reply.data.get("estimated_duration")
    return {
        "workflow_id": reply.data["workflow_id"],
        "status": "triggered",
        "message": message,
        "estimated_duration": _duration(estimate),
        "estimated_duration_s": estimate,
        field: {stage: "queued" if n == 0 else "pending" for n, stage in enumerate(stages)},
    }


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return f"about {seconds:.0f} s" if seconds < 120 else f"about {seconds / 60:.0f} minutes"


_LAYERS = tuple(
    f"layer{n}_{layer}"
    for n, layer in enumerate(
        (
            "detection_analysis",
            "intelligence_decision",
            "execution_fix",
            "orchestration_management",
        ),
        1,
    )
)


@router.post("/orchestrator/trigger", status_code=202, dependencies=[WRITE])
async def trigger_orchestrator(body: OrchestratorTriggerBody, request: Request) -> dict[str, Any]:
    return await _trigger(
        request,
        "orchestrator",
        body,
        "Master AI Orchestrator triggered successfully",
        "layers",
        _LAYERS,
    )


_PHASES = (
    "project_analysis_learning",
    "intelligent_improvement_generation",
    "automated_implementation",
    "learning_adaptation",
)


@router.post("/self-improver/trigger", status_code=202, dependencies=[WRITE])
async def trigger_self_improver(body: SelfImproverTriggerBody, request: Request) -> dict[str, Any]:
    return await _trigger(
        request,
        "self-improver",
        body,
        "AI Agentic Project Self-Improver triggered successfully",
        "phases",
        _PHASES,
    )


@router.get("/self-improver/{workflow_id}/results", dependencies=[READ])
async def self_improver_results(workflow_id: str, request: Request) -> dict[str, Any]:
    row = await _workflow(port_of(request), workflow_id)
    if row["workflow_type"] != "self-improver":
        raise _not_found(workflow_id)
    result = row["result"] or {}
    return {
        "workflow_id": workflow_id,
        "status": row["status"],
        "phases": row["layers"],
        "improvements": result.get("improvements", []),
        "metrics": result.get("metrics"),
        "branch": result.get("branch"),
        "commit": result.get("commit"),
        "diff": result.get("diff"),
        "calibration": result.get("calibration"),
        "approval": result.get("approval"),
        "decided_by": result.get("decided_by"),
        "not_analysed": result.get("not_analysed"),
        "error": row["error"],
    }


_RESPONDER_PHASES = (
    "issue_analysis_categorization",
    "intelligent_response_generation",
    "automated_response_fix_implementation",
    "learning_adaptation",
)


@router.post("/issue-responder/trigger", status_code=202, dependencies=[WRITE])
async def trigger_issue_responder(
    body: IssueResponderTriggerBody, request: Request
) -> dict[str, Any]:
    return await _trigger(
        request,
        "issue-responder",
        body,
        "AI Agentic Issue Auto-Responder triggered successfully",
        "phases",
        _RESPONDER_PHASES,
    )


@router.get("/issue-responder/{workflow_id}/results", dependencies=[READ])
async def issue_responder_results(workflow_id: str, request: Request) -> dict[str, Any]:
    row = await _workflow(port_of(request), workflow_id)
    if row["workflow_type"] != "issue-responder":
        raise _not_found(workflow_id)
    result = row["result"] or {}
    return {
        "workflow_id": workflow_id,
        "status": row["status"],
        "phases": row["layers"],
        "source": result.get("source"),
        "responses": result.get("responses", []),
        "metrics": result.get("metrics"),
        "error": row["error"],
    }


async def _workflow(port: NodePort, workflow_id: str) -> dict[str, Any]:
    found = await queries.get_workflow(port.reader, workflow_id)
    if found is None:
        await port.wait_for(port.head, _READ_YOUR_WRITES, "workflows")
        found = await queries.get_workflow(port.reader, workflow_id)
    elif found["status"] == "running" and await caught_up(port, "workflows"):
        found = await queries.get_workflow(port.reader, workflow_id)  # as of now
    if found is None:
        raise _not_found(workflow_id)
    return found


def _status(row: dict[str, Any]) -> dict[str, Any]:
    layers = list(row["layers"])
    estimate = row["estimated_duration"]
    completion = None
    if row["status"] == "running" and estimate is not None:
        started = datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
        completion = iso(started + timedelta(seconds=estimate))
    return {
        "workflow_id": row["workflow_id"],
        "workflow_type": row["workflow_type"],
        "status": row["status"],
        "progress": row["progress"],
        "current_layer": _layer_key(layers, row["current_layer"])
        if row["current_layer"] in layers
        else None,
        "layers": {_layer_key(layers, layer): state for layer, state in row["layers"].items()},
        "steps": row["steps"],
        "results": row["result"] if row["status"] == "completed" else row["outputs"],
        "ai_providers_used": row["ai_providers_used"],
        "started_at": row["started_at"],
        "updated_at": row["updated_at"],
        "completed_at": row["completed_at"],
        "duration_s": row["duration_s"],
        "estimated_duration": estimate,
        "estimated_completion": completion,
        "error": row["error"],
    }


@router.get("/orchestrator/{workflow_id}/status", dependencies=[READ])
async def orchestrator_status(workflow_id: str, request: Request) -> dict[str, Any]:
    row = await _workflow(port_of(request), workflow_id)
    if row["workflow_type"] != "orchestrator":
        raise _not_found(workflow_id)
    return _status(row)


@router.get("", dependencies=[READ])
async def list_workflows(
    request: Request,
    workflow_type: Literal["orchestrator", "self-improver", "issue-responder"] | None = None,
    status: Literal["running", "completed", "failed", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    port = port_of(request)
    await port.wait_for(port.head, _READ_YOUR_WRITES, "workflows")
    rows, total = await queries.list_workflows(port.reader, workflow_type, status, limit, offset)
    return {
        "workflows": [_status(row) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(rows) < total,
    }


@router.get("/metrics", dependencies=[READ])
async def workflow_metrics(
    request: Request,
    timeframe: Literal["1h", "24h", "7d", "30d"] = "24h",
    workflow_type: Literal["orchestrator", "self-improver", "issue-responder", "all"] = "all",
) -> dict[str, Any]:
    port = port_of(request)
    since = iso(datetime.now(UTC) - timedelta(hours=_TIMEFRAMES[timeframe]))
    chosen = None if workflow_type == "all" else workflow_type
    rows = await queries.started_since(port.reader, since, chosen)
    ended = [r for r in rows if r["status"] in ("completed", "failed")]
    durations = [
        r["duration_s"] for r in rows if r["status"] == "completed" and r["duration_s"] is not None
    ]
    usage: dict[str, int] = {}
    types: dict[str, int] = {}
    for row in rows:
        types[row["workflow_type"]] = types.get(row["workflow_type"], 0) + 1
        for provider in row["ai_providers_used"]:
            usage[provider] = usage.get(provider, 0) + 1
    completed = sum(1 for r in ended if r["status"] == "completed")
    return {
        "timeframe": timeframe,
        "metrics": {
            "total_workflows": len(rows),
            "success_rate": round(completed / len(ended), 4) if ended else None,
            "average_duration": round(sum(durations) / len(durations), 3) if durations else None,
            "ai_provider_usage": usage,
            "workflow_types": types,
        },
        "performance": {
            "fastest_workflow": min(durations) if durations else None,
            "slowest_workflow": max(durations) if durations else None,
        },
    }


_CHOICES = {
    "orchestrator": {
        "modes": [
            "intelligent",
            "full_analysis",
            "emergency_response",
            "performance_optimization",
            "security_audit",
            "documentation_update",
        ],
        "components": ["all", "code_quality", "security", "performance", "documentation"],
        "priorities": ["low", "normal", "high", "critical"],
    },
    "self_improver": {
        "modes": [
            "intelligent",
            "aggressive",
            "conservative",
            "performance_focused",
            "security_focused",
            "documentation_focused",
        ],
        "areas": [
            "all",
            "code_quality",
            "performance",
            "security",
            "documentation",
            "testing",
            "architecture",
            "dependencies",
        ],
        "depths": ["surface", "medium", "deep", "comprehensive"],
    },
    "issue_responder": {
        "modes": [
            "intelligent",
            "aggressive",
            "conservative",
            "technical_focused",
            "user_friendly",
            "automated_fix",
        ],
        "depths": ["basic", "detailed", "comprehensive", "expert"],
        "languages": ["auto", "english", "spanish", "french", "german", "chinese", "japanese"],
    },
}
_TYPES = {
    "orchestrator": "orchestrator",
    "self_improver": "self-improver",
    "issue_responder": "issue-responder",
}


def _config_view(settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: {**choices, "settings": settings.get(_TYPES[name], {})}
        for name, choices in _CHOICES.items()
    }


@router.get("/config", dependencies=[READ])
async def get_workflow_config(request: Request) -> dict[str, Any]:
    port = port_of(request)
    await port.wait_for(port.head, _READ_YOUR_WRITES, "workflow_config")
    return _config_view(await queries.configuration(port.reader))


@router.put("/config", dependencies=[ADMIN])
async def put_workflow_config(body: WorkflowConfigBody, request: Request) -> dict[str, Any]:
    changes = {
        _TYPES[name]: section
        for name, section in body.model_dump(exclude_none=True).items()
        if section
    }
    if not changes:
        raise ApiError(ErrorCode.INVALID_CONFIGURATION, "nothing to change")
    port = port_of(request)
    reply = await port.send(
        CONFIGURE_WORKFLOWS, ConfigureWorkflows(changes=changes, meta=request_meta(request))
    )
    if reply.code == ErrorCode.INVALID_PARAMETER:
        raise ApiError(ErrorCode.INVALID_CONFIGURATION, reply.message or "invalid", reply.details)
    check(reply)
    return {
        "status": "updated",
        "message": "Workflow configuration updated successfully",
        "config": _config_view(reply.data),
    }


@router.get("/{workflow_id}", dependencies=[READ])
async def get_workflow(workflow_id: str, request: Request) -> dict[str, Any]:
    """Any workflow, whatever its type: the same view as its type's status route."""
    return _status(await _workflow(port_of(request), workflow_id))


@router.get("/{workflow_id}/logs", dependencies=[READ])
async def workflow_logs(
    workflow_id: str,
    request: Request,
    level: Literal["debug", "info", "warning", "error"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    port = port_of(request)
    await _workflow(port, workflow_id)
    await port.wait_for(port.head, _READ_YOUR_WRITES, "workflow_logs")
    entries, total = await queries.logs(port.reader, workflow_id, level, limit, offset)
    return {
        "workflow_id": workflow_id,
        "logs": entries,
        "total_logs": total,
        "has_more": offset + len(entries) < total,
    }


@router.delete("/{workflow_id}", dependencies=[WRITE])
async def cancel_workflow(workflow_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    await _workflow(port, workflow_id)
    reply = await port.send(
        CANCEL_WORKFLOW, CancelWorkflow(workflow_id=workflow_id, meta=request_meta(request))
    )
    if reply.code == ErrorCode.NOT_FOUND:
        raise _not_found(workflow_id)
    check(reply)
    await port.wait_for(reply.position, _READ_YOUR_WRITES, "workflows")
    row = await _workflow(port, workflow_id)
    return {
        "workflow_id": workflow_id,
        "status": row["status"],
        "cancelled_at": row["completed_at"],
    }


@router.post("/{workflow_id}/approve", dependencies=[WRITE])
async def approve_workflow(workflow_id: str, body: ApproveBody, request: Request) -> dict[str, Any]:
    """Apply chosen results of a completed run (a self-improver's verified improvements,
    when it ran without auto_apply)."""
    port = port_of(request)
    await _workflow(port, workflow_id)
    command = ApproveWorkflow(
        workflow_id=workflow_id, items=body.improvements, meta=request_meta(request)
    )
    reply = await port.send(APPROVE_WORKFLOW, command, timeout=120.0)
    if reply.code == ErrorCode.NOT_FOUND:
        raise _not_found(workflow_id)
    check(reply)
    return {"workflow_id": workflow_id, "status": "approved", "approval": reply.data}
