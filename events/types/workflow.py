"""Events of durable workflows (stream `workflow-<id>`).

A workflow is layers of steps. Each step's start, output, retries and failure is an
event; so is each AI answer a step got (a resumed step reuses it instead of asking a
provider again) and each line of its log. A workflow's state is a fold of its stream.
"""

from __future__ import annotations

from typing import Any, ClassVar

from events.envelope import EventData


class WorkflowStarted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.started"

    workflow_id: str
    workflow_type: str
    """orchestrator, self-improver or issue-responder."""
    parameters: dict[str, Any]
    layers: list[str]
    steps: list[str]
    """Every step, in the order it runs (`layer/step`)."""
    api_key_id: str | None = None
    estimated_duration: float | None = None
    """Seconds, the median of this type's completed runs (None: no run yet)."""


class WorkflowStepStarted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.step_started"

    workflow_id: str
    step: str
    layer: str
    attempt: int = 1


class WorkflowStepCompleted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.step_completed"

    workflow_id: str
    step: str
    layer: str
    output: dict[str, Any]
    duration_ms: float
    engine_ms: float = 0.0
    """Of the duration, the engine's own time (outside agents and provider calls)."""


class WorkflowStepFailed(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.step_failed"

    workflow_id: str
    step: str
    layer: str
    attempt: int
    error: str
    retry_in: float | None = None
    """Seconds until the next attempt; None when the step has no attempt left."""


class WorkflowAnswered(EventData, frozen=True, kw_only=True):
    """An AI answer a step got through the router, kept so a resumed step reuses it."""

    type_name: ClassVar[str] = "workflow.ai_answered"

    workflow_id: str
    step: str
    key: str
    """Which of the step's questions (stable across a resume)."""
    provider: str | None
    model: str | None = None
    content: str = ""
    attempts: list[dict[str, Any]] = []
    error: str | None = None
    """Set when no provider could answer (the step then decides by its rules)."""


class WorkflowLogged(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.log"

    workflow_id: str
    level: str
    message: str
    layer: str | None = None


class WorkflowCompleted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.completed"

    workflow_id: str
    result: dict[str, Any]


class WorkflowFailed(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.failed"

    workflow_id: str
    step: str | None
    error: str


class WorkflowCancelled(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "workflow.cancelled"

    workflow_id: str
    reason: str = "cancelled by request"


class WorkflowConfigured(EventData, frozen=True, kw_only=True):
    """An operator changed a workflow type's defaults (PUT /workflows/config): the
    type's whole settings after the change."""

    type_name: ClassVar[str] = "workflow.configured"

    workflow_type: str
    settings: dict[str, Any]


class WorkflowApproved(EventData, frozen=True, kw_only=True):
    """An operator applied chosen results of a completed workflow (POST
    /workflows/{id}/approve), e.g. a self-improver's verified improvements."""

    type_name: ClassVar[str] = "workflow.approved"

    workflow_id: str
    items: list[str]
    output: dict[str, Any]
