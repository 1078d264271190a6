"""Workflows: the orchestrator, the self-improver and the issue responder."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class WorkflowTriggered(Model):
    """The answer to a trigger. `layers` (orchestrator) or `phases` (the others): each
    stage queued or pending."""

    workflow_id: str
    status: str
    message: str = ""
    estimated_duration: str | None = None
    estimated_duration_s: float | None = None
    layers: dict[str, str] | None = None
    phases: dict[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class Workflow(Model):
    workflow_id: str
    workflow_type: str
    status: str
    """running, completed, failed or cancelled."""
    progress: int = 0
    current_layer: str | None = None
    layers: dict[str, str] = field(default_factory=dict)
    steps: Any = None
    results: Any = None
    ai_providers_used: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    duration_s: float | None = None
    estimated_duration: float | None = None
    estimated_completion: datetime | None = None
    error: Any = None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


@dataclass(frozen=True, kw_only=True)
class WorkflowLogEntry(Model):
    timestamp: datetime
    level: str
    message: str
    layer: str | None = None


@dataclass(frozen=True, kw_only=True)
class SelfImproverResults(Model):
    workflow_id: str
    status: str
    phases: dict[str, str] = field(default_factory=dict)
    improvements: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    branch: str | None = None
    commit: str | None = None
    diff: str | None = None
    calibration: Any = None
    approval: Any = None
    decided_by: Any = None
    not_analysed: Any = None
    error: Any = None


@dataclass(frozen=True, kw_only=True)
class IssueResponderResults(Model):
    workflow_id: str
    status: str
    phases: dict[str, str] = field(default_factory=dict)
    source: Any = None
    responses: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] | None = None
    error: Any = None


@dataclass(frozen=True, kw_only=True)
class WorkflowMetrics(Model):
    timeframe: str
    metrics: dict[str, Any] = field(default_factory=dict)
    """total_workflows, success_rate, average_duration, ai_provider_usage, workflow_types."""
    performance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class WorkflowTypeConfig(Model):
    """A workflow type's choices (`modes`, `depths` ...) and its `settings`; the lists a
    type has are in `extra` when this model does not name them."""

    modes: list[str] = field(default_factory=list)
    depths: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class WorkflowConfig(Model):
    orchestrator: WorkflowTypeConfig
    self_improver: WorkflowTypeConfig
    issue_responder: WorkflowTypeConfig


@dataclass(frozen=True, kw_only=True)
class WorkflowConfigUpdate(Model):
    status: str
    message: str = ""
    config: WorkflowConfig | None = None


@dataclass(frozen=True, kw_only=True)
class WorkflowCancellation(Model):
    workflow_id: str
    status: str
    cancelled_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class WorkflowApproval(Model):
    workflow_id: str
    status: str
    approval: dict[str, Any] = field(default_factory=dict)
