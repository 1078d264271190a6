"""Every workflow type the engine runs, by the name the API triggers it with."""

from __future__ import annotations

from typing import Any

from actors.workflows.issue_responder.definition import ISSUE_RESPONDER
from actors.workflows.orchestrator import ORCHESTRATOR
from actors.workflows.self_improver import SELF_IMPROVER
from actors.workflows.steps import WorkflowDef

WORKFLOWS: dict[str, WorkflowDef[Any]] = {
    definition.workflow_type: definition
    for definition in (ORCHESTRATOR, SELF_IMPROVER, ISSUE_RESPONDER)
}
