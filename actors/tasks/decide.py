"""Task decisions: pure functions of a task's state and a command, returning events.

Nothing here touches NATS, SQLite or the clock, so every rule is testable alone.
`evolve` folds an event into the state; the manager applies it right after deciding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from actors.agents.skills.composite import Composite
from actors.tasks.parts import PartView, part_id
from events.commands import (
    CancelTask,
    CompleteTask,
    FailTask,
    Reply,
    ReportProgress,
    StartTask,
    SubmitTask,
)
from events.envelope import EventData
from events.types import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)
from events.vocabulary import ErrorCode, Priority, TaskStatus

MAX_ATTEMPTS = 10


class TaskState(msgspec.Struct, kw_only=True, gc=False):
    task_id: str
    task_type: str
    parameters: dict[str, Any]
    priority: Priority
    status: TaskStatus
    version: int
    attempt: int = 0
    max_attempts: int = 3
    agent_id: str | None = None
    api_key_id: str | None = None
    request_hash: str | None = None
    parent_id: str | None = None
    """Set on a part of a composite task."""
    parts: dict[str, str] = {}
    """A composite task's parts: name -> task id."""
    views: dict[str, PartView] = {}
    """A composite task's parts as it last saw them, by task id (parts.py)."""


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    code: ErrorCode
    message: str
    details: dict[str, Any] = {}


Decision = list[EventData] | Rejection
Validator = Callable[[dict[str, Any]], None]


def submit(
    task_id: str,
    command: SubmitTask,
    agents_by_type: Mapping[str, list[str]],
    validators: Mapping[str, Validator],
    active: int = 0,
    composites: Mapping[str, Composite[Any]] | None = None,
) -> Decision:
    """`active`: the submitting key's tasks that are queued or in progress; `composites`:
    the task types whose parts other task types do (none of them runs on one agent)."""
    composite = (composites or {}).get(command.task_type)
    if command.max_active is not None and active >= command.max_active:
        return Rejection(
            code=ErrorCode.RATE_LIMITED,
            message=f"concurrent task limit reached: this key may have {command.max_active}"
            " tasks queued or in progress at once",
            details={"limit": "concurrent_tasks", "max": command.max_active, "active": active},
        )
    agents = agents_by_type.get(command.task_type)
    if not agents and composite is None:
        available = sorted({*agents_by_type, *(composites or {})})
        return Rejection(
            code=ErrorCode.INVALID_PARAMETER,
            message=f"no agent runs task type {command.task_type!r}; "
            f"available: {', '.join(available)}",
            details={
                "parameter": "task_type",
                "provided": command.task_type,
                "expected": available,
            },
        )
    if not 1 <= command.max_attempts <= MAX_ATTEMPTS:
        return Rejection(
            code=ErrorCode.INVALID_PARAMETER,
            message=f"max_attempts must be between 1 and {MAX_ATTEMPTS}",
            details={"parameter": "max_attempts", "provided": command.max_attempts},
        )
    validator = validators.get(command.task_type)
    if validator is not None:
        try:
            validator(command.parameters)
        except PermissionError as e:  # a target outside the scan or code scope
            return Rejection(
                code=ErrorCode.FORBIDDEN,
                message=str(e),
                details={
                    "parameter": getattr(e, "name", "parameters"),
                    "target": getattr(e, "target", None),
                    "reason": getattr(e, "reason", str(e)),
                },
            )
        except ValueError as e:
            return Rejection(
                code=ErrorCode.INVALID_PARAMETER,
                message=str(e),
                details={"parameter": getattr(e, "name", "parameters")},
            )
    parts: dict[str, str] = {}
    if composite is not None:
        agents = []
        for name, part in composite.parts(command.parameters).items():
            runners = agents_by_type.get(part.task_type)
            if not runners:
                return Rejection(
                    code=ErrorCode.SERVICE_UNAVAILABLE,
                    message=f"no agent runs {part.task_type!r}, the {name!r} part of"
                    f" {command.task_type!r}",
                    details={"task_type": command.task_type, "part": name},
                )
            agents += [agent for agent in runners if agent not in agents]
            parts[name] = part_id(task_id, name)
    assert agents is not None
    return [
        TaskCreated(
            task_id=task_id,
            task_type=command.task_type,
            parameters=command.parameters,
            priority=command.priority,
            callback_url=command.callback_url,
            assigned_agents=list(agents),
            max_attempts=command.max_attempts,
            api_key_id=command.meta.api_key_id,
            request_hash=command.request_hash,
            estimated_completion=command.estimated_completion,
            parts=parts,
        )
    ]


def retried(state: TaskState, command: SubmitTask) -> Reply:
    """The answer to a submit whose task (by its Idempotency-Key) already exists."""
    if state.request_hash is not None and state.request_hash == command.request_hash:
        return Reply(ok=True, data={"task_id": state.task_id, "replayed": True})
    return Reply(
        ok=False,
        code=ErrorCode.CONFLICT,
        message="this Idempotency-Key was used for a different request",
        details={"task_id": state.task_id},
    )


def _not_found(task_id: str) -> Rejection:
    return Rejection(
        code=ErrorCode.NOT_FOUND,
        message=f"task {task_id!r} not found",
        details={"task_id": task_id},
    )


def cancel(state: TaskState | None, command: CancelTask) -> Decision:
    if state is None:
        return _not_found(command.task_id)
    if state.status.finished:
        return Rejection(
            code=ErrorCode.CONFLICT,
            message=f"task {state.task_id} is already {state.status}",
            details={"task_id": state.task_id, "status": state.status},
        )
    return [TaskCancelled(task_id=state.task_id, reason=command.reason, agent_id=state.agent_id)]


def start(state: TaskState | None, command: StartTask) -> Decision:
    """A claim. The same claim again (its answer was lost on the way) is granted again."""
    if state is None:
        return _not_found(command.task_id)
    if (
        state.status == TaskStatus.IN_PROGRESS
        and state.agent_id == command.agent_id
        and state.attempt == command.attempt
    ):
        return []
    if state.status != TaskStatus.QUEUED or command.attempt != state.attempt + 1:
        return Rejection(
            code=ErrorCode.CONFLICT,
            message=f"task {state.task_id} is {state.status} at attempt {state.attempt};"
            f" attempt {command.attempt} cannot start",
        )
    started = TaskStarted(
        task_id=state.task_id,
        agent_id=command.agent_id,
        attempt=command.attempt,
        task_type=state.task_type,
    )
    decision = command.decision
    if decision is None or decision.agent_id != command.agent_id:
        return [started]
    # The decision first: a reader of task events only (the tasks read model) then sees
    # the stream's version at its last event.
    return [decision, started]


def _owns(state: TaskState | None, agent_id: str, attempt: int) -> Rejection | None:
    if state is None:
        return Rejection(code=ErrorCode.NOT_FOUND, message="task not found")
    if (
        state.status != TaskStatus.IN_PROGRESS
        or state.agent_id != agent_id
        or state.attempt != attempt
    ):
        return Rejection(
            code=ErrorCode.CONFLICT,
            message=f"task {state.task_id} is not being run by {agent_id} (attempt {attempt})",
        )
    return None


def report(state: TaskState | None, command: ReportProgress | CompleteTask | FailTask) -> Decision:
    refused = _owns(state, command.agent_id, command.attempt)
    if refused is not None:
        return refused
    assert state is not None
    match command:
        case ReportProgress(progress=progress, message=message):
            return [
                TaskProgressed(
                    task_id=state.task_id,
                    agent_id=command.agent_id,
                    progress=max(0, min(99, progress)),
                    message=message,
                )
            ]
        case CompleteTask(result=result):
            return [
                TaskCompleted(
                    task_id=state.task_id,
                    agent_id=command.agent_id,
                    result=result,
                    cache_key=command.cache_key,
                    cached_from=command.cached_from,
                )
            ]
        case FailTask(reason=reason, error=error):
            return [
                TaskFailed(
                    task_id=state.task_id, agent_id=command.agent_id, reason=reason, error=error
                )
            ]


def agent_lost(state: TaskState, reason: str) -> list[EventData]:
    """The agent running `state` is gone: try again, or fail once attempts run out.
    A composite task runs on no agent: its parts are requeued on their own."""
    if state.status != TaskStatus.IN_PROGRESS or state.parts:
        return []
    if state.attempt < state.max_attempts:
        return [
            TaskRequeued(
                task_id=state.task_id, attempt=state.attempt, reason=reason, agent_id=state.agent_id
            )
        ]
    return [
        TaskFailed(
            task_id=state.task_id, agent_id=state.agent_id, reason="max_attempts", error=reason
        )
    ]


def evolve(state: TaskState | None, event: EventData) -> TaskState | None:
    """The state after `event` (in place where there is one)."""
    if isinstance(event, TaskCreated):
        return TaskState(
            task_id=event.task_id,
            task_type=event.task_type,
            parameters=event.parameters,
            priority=event.priority,
            status=TaskStatus.QUEUED,
            version=1,
            max_attempts=event.max_attempts,
            api_key_id=event.api_key_id,
            request_hash=event.request_hash,
            parent_id=event.parent_id,
            parts=event.parts,
        )
    if state is None:
        return None
    state.version += 1
    match event:
        case TaskStarted(agent_id=agent_id, attempt=attempt):
            state.status, state.agent_id, state.attempt = TaskStatus.IN_PROGRESS, agent_id, attempt
        case TaskCompleted():
            state.status = TaskStatus.COMPLETED
        case TaskFailed():
            state.status = TaskStatus.FAILED
        case TaskCancelled():
            state.status = TaskStatus.CANCELLED
        case TaskRequeued():
            state.status, state.agent_id = TaskStatus.QUEUED, None
    return state
