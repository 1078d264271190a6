"""client.workflows: the master orchestrator, the self-improver and the issue responder
(each under its own attribute), and what every workflow shares: get, list, logs,
metrics, configuration, cancel, approve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic

from amas.sdk._call import Req, body
from amas.sdk._endpoint import M, Resource, endpoint, listing
from amas.sdk._paging import Paged
from amas.sdk._parse import as_model, offset_list
from amas.sdk.models.workflows import (
    IssueResponderResults,
    SelfImproverResults,
    Workflow,
    WorkflowApproval,
    WorkflowCancellation,
    WorkflowConfig,
    WorkflowConfigUpdate,
    WorkflowLogEntry,
    WorkflowMetrics,
    WorkflowTriggered,
)


def _id(workflow_id: str) -> dict[str, str]:
    return {"workflow_id": workflow_id}


class Orchestrator(Resource[M]):
    prefix = "/workflows/orchestrator"

    @endpoint("POST", "/trigger")
    def trigger(
        self,
        *,
        orchestration_mode: str | None = None,
        target_components: str | None = None,
        priority_level: str | None = None,
        ai_providers: str | None = None,
        repository: str | None = None,
        max_findings: int | None = None,
    ) -> Req[WorkflowTriggered]:
        """Run the master orchestrator's four layers; unset fields take the configured
        defaults."""
        return Req(
            as_model(WorkflowTriggered),
            json=body(
                orchestration_mode=orchestration_mode,
                target_components=target_components,
                priority_level=priority_level,
                ai_providers=ai_providers,
                repository=repository,
                max_findings=max_findings,
            ),
        )

    @endpoint("GET", "/{workflow_id}/status")
    def status(self, workflow_id: str) -> Req[Workflow]:
        return Req(as_model(Workflow), path_params=_id(workflow_id))


class SelfImprover(Resource[M]):
    prefix = "/workflows/self-improver"

    @endpoint("POST", "/trigger")
    def trigger(
        self,
        *,
        improvement_mode: str | None = None,
        target_areas: str | None = None,
        learning_depth: str | None = None,
        auto_apply: bool | None = None,
        repository: str | None = None,
        ai_providers: str | None = None,
    ) -> Req[WorkflowTriggered]:
        return Req(
            as_model(WorkflowTriggered),
            json=body(
                improvement_mode=improvement_mode,
                target_areas=target_areas,
                learning_depth=learning_depth,
                auto_apply=auto_apply,
                repository=repository,
                ai_providers=ai_providers,
            ),
        )

    @endpoint("GET", "/{workflow_id}/results")
    def results(self, workflow_id: str) -> Req[SelfImproverResults]:
        return Req(as_model(SelfImproverResults), path_params=_id(workflow_id))


class IssueResponder(Resource[M]):
    prefix = "/workflows/issue-responder"

    @endpoint("POST", "/trigger")
    def trigger(
        self,
        *,
        response_mode: str | None = None,
        response_depth: str | None = None,
        auto_fix: bool | None = None,
        language_preference: str | None = None,
        target_issues: str | None = None,
        issues_folder: str | None = None,
        repository: str | None = None,
        ai_providers: str | None = None,
        max_issues: int | None = None,
    ) -> Req[WorkflowTriggered]:
        return Req(
            as_model(WorkflowTriggered),
            json=body(
                response_mode=response_mode,
                response_depth=response_depth,
                auto_fix=auto_fix,
                language_preference=language_preference,
                target_issues=target_issues,
                issues_folder=issues_folder,
                repository=repository,
                ai_providers=ai_providers,
                max_issues=max_issues,
            ),
        )

    @endpoint("GET", "/{workflow_id}/results")
    def results(self, workflow_id: str) -> Req[IssueResponderResults]:
        return Req(as_model(IssueResponderResults), path_params=_id(workflow_id))


class Workflows(Resource[M], Generic[M]):
    prefix = "/workflows"

    def __init__(self, runner: Any) -> None:
        super().__init__(runner)
        self.orchestrator: Orchestrator[M] = Orchestrator(runner)
        self.self_improver: SelfImprover[M] = SelfImprover(runner)
        self.issue_responder: IssueResponder[M] = IssueResponder(runner)

    @endpoint("GET", "/{workflow_id}")
    def get(self, workflow_id: str) -> Req[Workflow]:
        """Any workflow, whatever its type."""
        return Req(as_model(Workflow), path_params=_id(workflow_id))

    @listing("GET", "")
    def list(
        self,
        *,
        workflow_type: str | None = None,
        status: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> Paged[Workflow]:
        filters = {"workflow_type": workflow_type, "status": status}
        return offset_list("workflows", Workflow, filters, limit=limit, offset=offset)

    @listing("GET", "/{workflow_id}/logs")
    def logs(
        self, workflow_id: str, *, level: str | None = None, limit: int = 100, offset: int = 0
    ) -> Paged[WorkflowLogEntry]:
        """Log lines at `level` and above, oldest first."""
        return offset_list(
            "logs",
            WorkflowLogEntry,
            {"level": level},
            limit=limit,
            offset=offset,
            total_key="total_logs",
            path_params=_id(workflow_id),
        )

    @endpoint("GET", "/metrics")
    def metrics(
        self, *, timeframe: str | None = None, workflow_type: str | None = None
    ) -> Req[WorkflowMetrics]:
        return Req(
            as_model(WorkflowMetrics),
            params={"timeframe": timeframe, "workflow_type": workflow_type},
        )

    @endpoint("GET", "/config")
    def config(self) -> Req[WorkflowConfig]:
        return Req(as_model(WorkflowConfig))

    @endpoint("PUT", "/config")
    def update_config(
        self,
        *,
        orchestrator: Mapping[str, Any] | None = None,
        self_improver: Mapping[str, Any] | None = None,
        issue_responder: Mapping[str, Any] | None = None,
    ) -> Req[WorkflowConfigUpdate]:
        """Set each type's defaults (`default_mode`, `default_depth`, `timeout` ...; an
        admin key)."""
        return Req(
            as_model(WorkflowConfigUpdate),
            json=body(
                orchestrator=dict(orchestrator) if orchestrator is not None else None,
                self_improver=dict(self_improver) if self_improver is not None else None,
                issue_responder=dict(issue_responder) if issue_responder is not None else None,
            ),
        )

    @endpoint("DELETE", "/{workflow_id}")
    def cancel(self, workflow_id: str) -> Req[WorkflowCancellation]:
        return Req(as_model(WorkflowCancellation), path_params=_id(workflow_id))

    @endpoint("POST", "/{workflow_id}/approve")
    def approve(self, workflow_id: str, improvements: Sequence[str]) -> Req[WorkflowApproval]:
        """Apply chosen verified improvements of a completed self-improver run."""
        return Req(
            as_model(WorkflowApproval),
            path_params=_id(workflow_id),
            json={"improvements": list(improvements)},
            timeout=130.0,
        )
