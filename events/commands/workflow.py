"""Workflow commands (`amas.cmd.workflow.*`), owned by the workflow engine."""

from __future__ import annotations

from typing import Any

import msgspec

from events.envelope import Meta

TRIGGER_WORKFLOW = "amas.cmd.workflow.trigger"
CANCEL_WORKFLOW = "amas.cmd.workflow.cancel"
CONFIGURE_WORKFLOWS = "amas.cmd.workflow.configure"
APPROVE_WORKFLOW = "amas.cmd.workflow.approve"


class TriggerWorkflow(msgspec.Struct, frozen=True, kw_only=True, tag="workflow.trigger"):
    workflow_type: str
    """orchestrator, self-improver or issue-responder."""
    parameters: dict[str, Any]
    meta: Meta = Meta()


class CancelWorkflow(msgspec.Struct, frozen=True, kw_only=True, tag="workflow.cancel"):
    workflow_id: str
    reason: str = "cancelled by request"
    meta: Meta = Meta()


class ConfigureWorkflows(msgspec.Struct, frozen=True, kw_only=True, tag="workflow.configure"):
    changes: dict[str, dict[str, Any]]
    """Workflow type -> the settings to change (default_mode, timeout ...)."""
    meta: Meta = Meta()


class ApproveWorkflow(msgspec.Struct, frozen=True, kw_only=True, tag="workflow.approve"):
    workflow_id: str
    items: list[str]
    """What to apply (a self-improver's improvement ids)."""
    meta: Meta = Meta()


WorkflowCommand = TriggerWorkflow | CancelWorkflow | ConfigureWorkflows | ApproveWorkflow
