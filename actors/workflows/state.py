"""A workflow's state as a fold of its stream, and what to do next: pure.

`evolve` applies one `workflow.*` event; the engine keeps the state of every running
workflow this way and rebuilds it from the stream after a restart, so a resumed
workflow knows which steps completed (never run again), which step was under way (run
again: its child tasks and AI answers are found by their stable ids and keys, not made
twice) and what each completed step returned.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from events.envelope import EventData
from events.types import (
    WorkflowAnswered,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowStepCompleted,
    WorkflowStepFailed,
    WorkflowStepStarted,
)

Status = Literal["running", "completed", "failed", "cancelled"]


class StepRecord(msgspec.Struct, kw_only=True):
    status: Literal["pending", "running", "completed", "failed"] = "pending"
    attempts: int = 0
    output: dict[str, Any] | None = None
    error: str | None = None


class WorkflowState(msgspec.Struct, kw_only=True):
    workflow_id: str
    workflow_type: str
    parameters: dict[str, Any]
    steps: list[str]
    status: Status = "running"
    version: int = 0
    records: dict[str, StepRecord] = {}
    answers: dict[str, WorkflowAnswered] = {}
    """By `step:key`."""
    api_key_id: str | None = None

    def record(self, step: str) -> StepRecord:
        return self.records.setdefault(step, StepRecord())

    def next_step(self) -> str | None:
        """The first step that has not completed (None: all have)."""
        return next((s for s in self.steps if self.record(s).status != "completed"), None)

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {s: r.output for s, r in self.records.items() if r.output is not None}


def evolve(state: WorkflowState | None, event: EventData) -> WorkflowState | None:
    """The state after `event` (in place where there is one)."""
    if isinstance(event, WorkflowStarted):
        return WorkflowState(
            workflow_id=event.workflow_id,
            workflow_type=event.workflow_type,
            parameters=event.parameters,
            steps=event.steps,
            version=1,
            api_key_id=event.api_key_id,
        )
    if state is None:
        return None
    state.version += 1
    match event:
        case WorkflowStepStarted(step=step, attempt=attempt):
            record = state.record(step)
            record.status, record.attempts = "running", attempt
        case WorkflowStepCompleted(step=step, output=output):
            record = state.record(step)
            record.status, record.output, record.error = "completed", output, None
        case WorkflowStepFailed(step=step, error=error, retry_in=retry_in):
            record = state.record(step)
            record.error = error
            if retry_in is None:
                record.status = "failed"
        case WorkflowAnswered(step=step, key=key):
            state.answers[f"{step}:{key}"] = event
        case WorkflowCompleted():
            state.status = "completed"
        case WorkflowFailed():
            state.status = "failed"
        case WorkflowCancelled():
            state.status = "cancelled"
    return state
