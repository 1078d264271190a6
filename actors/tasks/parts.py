"""Decisions for composite tasks (actors/agents/skills/composite.py): pure, like decide.py.

A composite task is created with the ids of its parts; the task manager then creates
each part as a task of its own (`spawn`), follows what happens to each (`follow`, into
a PartView held on the composite's state), and answers each change with the
composite's own events (`changed`): started when its first part starts, progress per
agent as its parts move, completed with the merged result when every part has ended
(failed if none completed), cancelled with its parts.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from actors.agents.skills.composite import Composite, Outcome, PartStatus
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
from events.vocabulary import TaskStatus

_ENDED: frozenset[PartStatus] = frozenset({"completed", "failed", "cancelled"})


class PartView(msgspec.Struct, kw_only=True):
    """Where one part stands, as its composite task sees it."""

    name: str
    task_id: str
    task_type: str
    status: PartStatus = "queued"
    agent_id: str | None = None
    progress: int = 0
    result: dict[str, object] | None = None
    error: str | None = None


def part_id(task_id: str, name: str) -> str:
    return f"{task_id}-{name}"


def spawn(
    parent: TaskCreated,
    composite: Composite[msgspec.Struct],
    agents_by_type: Mapping[str, list[str]],
) -> list[TaskCreated]:
    """The task.created of each part, in the order of parent.parts."""
    planned = composite.parts(parent.parameters)
    return [
        TaskCreated(
            task_id=child_id,
            task_type=planned[name].task_type,
            parameters=planned[name].parameters,
            priority=parent.priority,
            assigned_agents=list(agents_by_type.get(planned[name].task_type, [])),
            max_attempts=parent.max_attempts,
            api_key_id=parent.api_key_id,
            parent_id=parent.task_id,
        )
        for name, child_id in parent.parts.items()
    ]


def follow(view: PartView, event: EventData) -> str | None:
    """Apply a part's event to its view; the agent it left, if it was requeued."""
    match event:
        case TaskStarted(agent_id=agent_id):
            view.status, view.agent_id, view.progress = "working", agent_id, 0
        case TaskProgressed(progress=progress):
            view.progress = progress
        case TaskCompleted(result=result):
            view.status, view.progress, view.result = "completed", 100, result
        case TaskFailed(reason=reason, error=error):
            view.status, view.error = "failed", f"{reason}: {error}" if error else reason
        case TaskCancelled(reason=reason):
            view.status, view.error = "cancelled", reason
        case TaskRequeued():
            left, view.status, view.agent_id, view.progress = view.agent_id, "queued", None, 0
            return left
    return None


def changed(
    task_id: str,
    status: TaskStatus,
    parameters: dict[str, object],
    views: Mapping[str, PartView],
    composite: Composite[msgspec.Struct],
    agent_id: str | None,
    abandoned_by: str | None = None,
) -> list[EventData]:
    """The composite's events after a part on `agent_id` changed (None: only settle)."""
    if status.finished:
        return []
    events: list[EventData] = []
    if status == TaskStatus.QUEUED and any(v.status != "queued" for v in views.values()):
        events.append(TaskStarted(task_id=task_id, agent_id=None, attempt=1))
    done = [v for v in views.values() if v.status in _ENDED]
    overall = sum(100 if v.status in _ENDED else v.progress for v in views.values())
    overall //= max(len(views), 1)
    if abandoned_by is not None:
        events.append(_agent_progress(task_id, views, abandoned_by, overall, "abandoned"))
    if agent_id is not None:
        events.append(_agent_progress(task_id, views, agent_id, overall))
    if views and len(done) == len(views):
        events.append(_ended(task_id, parameters, views, composite))
    return events


def cancel_parts(
    views: Mapping[str, PartView], reason: str = "its composite task was cancelled"
) -> dict[str, TaskCancelled]:
    """Child id -> its cancellation, for every part that has not ended."""
    return {
        v.task_id: TaskCancelled(task_id=v.task_id, reason=reason, agent_id=v.agent_id)
        for v in views.values()
        if v.status not in _ENDED
    }


def _agent_progress(
    task_id: str,
    views: Mapping[str, PartView],
    agent_id: str,
    overall: int,
    status: str | None = None,
) -> TaskProgressed:
    """The composite's progress, and where its parts on `agent_id` stand together."""
    mine = [v for v in views.values() if v.agent_id == agent_id]
    if status is None:
        working = [v for v in mine if v.status == "working"]
        status = "working" if working or not mine else mine[-1].status
    progress = sum(v.progress for v in mine) // len(mine) if mine else 0
    return TaskProgressed(
        task_id=task_id,
        agent_id=agent_id,
        progress=min(overall, 99),
        message=", ".join(f"{v.name}: {v.status} {v.progress}%" for v in views.values()),
        agent_status=status,
        agent_progress=progress,
    )


def _ended(
    task_id: str,
    parameters: dict[str, object],
    views: Mapping[str, PartView],
    composite: Composite[msgspec.Struct],
) -> EventData:
    outcomes = {
        v.name: Outcome(
            name=v.name,
            task_id=v.task_id,
            task_type=v.task_type,
            agent_id=v.agent_id,
            status=v.status,
            result=v.result,
            error=v.error,
        )
        for v in views.values()
    }
    if not any(o.status == "completed" for o in outcomes.values()):
        return TaskFailed(
            task_id=task_id,
            reason="parts_failed",
            error="; ".join(f"{o.name}: {o.error}" for o in outcomes.values()),
        )
    try:
        result = composite.result(dict(parameters), outcomes)
    except Exception as e:  # a merge that cannot read its parts fails the task, not the actor
        return TaskFailed(task_id=task_id, reason="error", error=f"{type(e).__name__}: {e}")
    return TaskCompleted(task_id=task_id, agent_id=None, result=result)
