"""/tasks: submit, inspect, list and cancel tasks.

Writes are NATS commands to the task manager; reads come from the `tasks` projection.
A submit answers once its task.created is durable in the log, without waiting for the
read model; reads wait instead (bounded), and only when they must: a task id the
projection does not know yet, or a list, waits until the projection has reached the
log's head as of the request. So a GET right after a POST sees the task
(read-your-writes), and writes never queue behind the read models.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from api import idempotency
from api.auth.scopes import READ, WRITE
from api.deps import caught_up, port_of, request_meta
from api.errors import ApiError, check
from api.port import NodePort
from api.schemas import LARGEST_INTEGER, SubmitTaskBody, UtcDatetime
from events.clock import iso, utc
from events.commands import (
    CANCEL_TASK,
    SET_CALLBACK_SECRET,
    SUBMIT_TASK,
    CancelTask,
    SetCallbackSecret,
    SubmitTask,
)
from events.queries import agents as agent_queries
from events.queries import tasks as queries
from events.vocabulary import ErrorCode, Priority, TaskStatus

router = APIRouter(
    prefix="/tasks",
    tags=["tasks"],
    responses={503: {"description": "SERVICE_UNAVAILABLE: the read model did not catch up"}},
)

_READ_YOUR_WRITES_TIMEOUT = 5.0


def _not_found(task_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"task {task_id!r} not found", {"task_id": task_id})


def _status_view(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_id": task["task_id"],
        "task_type": task["task_type"],
        "status": task["status"],
        "priority": task["priority"],
        "progress": task["progress"],
        "created_at": task["created_at"],
        "started_at": task["started_at"],
        "updated_at": task["updated_at"],
        "completed_at": task["completed_at"],
        "cancelled_at": task["cancelled_at"],
        "attempt": task["attempt"],
        "assigned_agents": task["assigned_agents"],
        "agents": task["agents"],
        "parent_id": task["parent_id"],
        "parts": task["parts"],
        "error": (
            {"reason": task["reason"], "message": task["error"]}
            if task["status"] == TaskStatus.FAILED
            else None
        ),
    }


@router.post("", status_code=201, dependencies=[WRITE])
async def submit_task(body: SubmitTaskBody, request: Request) -> dict[str, Any]:
    """Submit a task. With an `Idempotency-Key` header, a retry gets the first answer."""
    port = port_of(request)
    db = port.reader
    key = idempotency.key_of(request)
    digest = idempotency.request_hash(request, body) if key else None
    task_id = f"task-{idempotency.derived_id(request, key, 'task')}" if key else None
    if task_id is not None:
        first = await queries.get_task(db, task_id)
        if first is not None:
            return _submitted(first, digest, key)
    callback_secret = await _callback_secret(port, request, body)
    estimate = await _estimate(request, port, body.task_type)
    command = SubmitTask(
        task_type=body.task_type,
        parameters=body.parameters,
        priority=body.priority,
        callback_url=str(body.callback_url) if body.callback_url else None,
        max_attempts=body.max_attempts,
        max_active=request.state.principal.tier.concurrent_tasks,
        task_id=task_id,
        request_hash=digest,
        estimated_completion=estimate,
        meta=request_meta(request),
    )
    reply = await port.send(SUBMIT_TASK, command)
    if reply.code == ErrorCode.CONFLICT and key is not None and task_id is not None:
        raise idempotency.reused(key, task_id=task_id)  # a different request won the race
    reply = check(reply)
    if reply.data.get("replayed"):  # a retry that overtook the request it repeats
        return _submitted(await _read_created(port, reply.data["task_id"]), digest, key)
    # The same answer a retry rebuilds from task.created: what that event recorded.
    answer = {
        "task_id": reply.data["task_id"],
        "status": TaskStatus.QUEUED,
        "estimated_completion": estimate,
        "assigned_agents": reply.data["assigned_agents"],
    }
    if callback_secret is not None:
        answer["callback_secret"] = callback_secret
    return answer


async def _callback_secret(port: NodePort, request: Request, body: SubmitTaskBody) -> str | None:
    """For a `callback_url`: refuse one outside AMAS_WEBHOOK_ALLOW before the task
    exists, and make the key's callback signing secret on its first use (answered this
    once, as `callback_secret`; `POST /webhooks/callback-secret` makes a new one)."""
    if body.callback_url is None:
        return None
    command = SetCallbackSecret(callback_url=str(body.callback_url), meta=request_meta(request))
    reply = check(await port.send(SET_CALLBACK_SECRET, command))
    secret: str | None = reply.data.get("secret")
    return secret


async def _read_created(port: NodePort, task_id: str) -> dict[str, Any]:
    """The task's row; a retry can overtake the request that creates it, so wait a little."""
    deadline = time.monotonic() + _READ_YOUR_WRITES_TIMEOUT
    while (row := await queries.get_task(port.reader, task_id)) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ApiError(
                ErrorCode.SERVICE_UNAVAILABLE,
                "the task was accepted but cannot be read yet",
                {"task_id": task_id},
            )
        await port.wait_for(port.position("tasks") + 1, left, "tasks")
    return row


def _submitted(task: dict[str, Any], digest: str | None, key: str | None) -> dict[str, Any]:
    """The answer to a submit, rebuilt from what its task.created recorded."""
    if key is not None and task["request_hash"] != digest:
        raise idempotency.reused(key, task_id=task["task_id"])
    return {
        "task_id": task["task_id"],
        "status": TaskStatus.QUEUED,
        "estimated_completion": task["estimated_completion"],
        "assigned_agents": task["assigned_agents"],
    }


class _Estimate:
    __slots__ = ("mean", "mean_until", "text", "text_until")

    def __init__(self, mean: float, mean_until: float) -> None:
        self.mean, self.mean_until = mean, mean_until
        self.text, self.text_until = "", 0.0


async def _estimate(request: Request, port: NodePort, task_type: str) -> str | None:
    """Now plus the mean time the agents running `task_type` took per finished task (1 s
    with no history). The mean is read at most once a second per task type: a submit
    should not cost a query for a figure that moves slowly; and the timestamp is
    formatted at most once per 10 ms (formatting it was ~2% of the loop under load)."""
    cache: dict[str, _Estimate] = request.app.state.estimates
    now = time.monotonic()
    known = cache.get(task_type)
    if known is None or known.mean_until < now:
        agents = port.agents_for(task_type)
        if not agents:
            return None
        busy_us, finished = await agent_queries.busy_time(port.reader, agents)
        known = cache[task_type] = _Estimate(
            busy_us / 1e6 / finished if finished else 1.0, now + 1.0
        )
    if known.text_until < now:
        known.text = iso(datetime.now(UTC) + timedelta(seconds=known.mean))
        known.text_until = now + 0.01
    return known.text


@router.get("", dependencies=[READ])
async def list_tasks(
    request: Request,
    status: TaskStatus | None = None,
    agent_id: str | None = None,
    task_type: str | None = None,
    priority: Priority | None = None,
    from_date: Annotated[UtcDatetime | None, Query(description="ISO 8601")] = None,
    to_date: Annotated[UtcDatetime | None, Query(description="ISO 8601")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=LARGEST_INTEGER)] = 0,
) -> dict[str, Any]:
    port = port_of(request)
    where = queries.TaskFilter(
        status=status,
        agent_id=agent_id,
        task_type=task_type,
        priority=priority,
        from_date=iso(utc(from_date)) if from_date else None,
        to_date=iso(utc(to_date)) if to_date else None,
    )
    await port.wait_for(port.head, _READ_YOUR_WRITES_TIMEOUT, "tasks")
    tasks, total = await queries.list_tasks(port.reader, where, limit, offset)
    return {
        "tasks": [_status_view(t) for t in tasks],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(tasks) < total,
    }


async def _task_or_404(port: NodePort, task_id: str) -> dict[str, Any]:
    task = await queries.get_task(port.reader, task_id)
    if task is None:  # perhaps just submitted: look again once the read model has the log
        await port.wait_for(port.head, _READ_YOUR_WRITES_TIMEOUT, "tasks")
        task = await queries.get_task(port.reader, task_id)
    elif not TaskStatus(task["status"]).finished and await caught_up(port, "tasks"):
        task = await queries.get_task(port.reader, task_id)  # still moving: as of now
    if task is None:
        raise _not_found(task_id)
    return task


@router.get("/{task_id}", dependencies=[READ])
async def get_task(task_id: str, request: Request) -> dict[str, Any]:
    return _status_view(await _task_or_404(port_of(request), task_id))


@router.get(
    "/{task_id}/results",
    dependencies=[READ],
    responses={
        200: {
            "description": "JSON by default; SARIF 2.1.0 (findings) or Markdown on request",
            "content": {"application/sarif+json": {}, "text/markdown": {}},
        },
        409: {"description": "CONFLICT: sarif or markdown of a task that has not finished"},
    },
)
async def get_task_results(
    task_id: str,
    request: Request,
    format: Annotated[
        Literal["json", "sarif", "markdown"],
        Query(description="json (the default), sarif (SARIF 2.1.0 of findings) or markdown"),
    ] = "json",
) -> Any:
    port = port_of(request)
    task = await _task_or_404(port, task_id)
    if format != "json":
        if not TaskStatus(task["status"]).finished:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"task {task_id} is {task['status']}: its results come in {format} once it ends",
                {"task_id": task_id, "status": task["status"]},
            )
        try:
            media_type, body = port.export_results(task, format)
        except ValueError as e:
            raise ApiError(
                ErrorCode.INVALID_PARAMETER, str(e), {"parameter": "format", "provided": format}
            ) from None
        return Response(body, media_type=media_type)
    return {
        "task_id": task_id,
        "status": task["status"],
        "completed_at": task["completed_at"],
        "results": task["result"],
        "error": (
            {"reason": task["reason"], "message": task["error"]}
            if task["status"] == TaskStatus.FAILED
            else None
        ),
    }


@router.delete("/{task_id}", dependencies=[WRITE])
async def cancel_task(task_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    reply = await port.send(CANCEL_TASK, CancelTask(task_id=task_id, meta=request_meta(request)))
    if reply.code == ErrorCode.NOT_FOUND:
        # The task manager holds every unfinished task; one it does not know but the
        # read model does finished before it last started.
        known = await queries.get_task(port.reader, task_id)
        if known is not None:
            raise ApiError(
                ErrorCode.CONFLICT,
                f"task {task_id} is already {known['status']}",
                {"task_id": task_id, "status": known["status"]},
            )
    check(reply)
    await port.wait_for(reply.position, _READ_YOUR_WRITES_TIMEOUT, "tasks")
    task = await queries.get_task(port.reader, task_id)
    return {
        "task_id": task_id,
        "status": TaskStatus.CANCELLED,
        "cancelled_at": task["cancelled_at"] if task else None,
    }
