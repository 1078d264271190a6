"""The project self-improver (POST /workflows/self-improver/trigger): four phases
(phases.py). `improvement_mode` narrows `target_areas: all` (`security_focused`,
`performance_focused`, `documentation_focused`); `conservative` tries only improvements
of confidence >= 0.8, `aggressive` every one, the others >= 0.5. `learning_depth` bounds
the findings looked at (surface 10, medium 25, deep 50, comprehensive 200).
`performance_gain` is null: nothing here measures one honestly.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from actors.agents.scope import Scopes
from actors.errors import InvalidParameter
from actors.workflows.orchestrator import PROVIDERS
from actors.workflows.orchestrator.detection import COMPONENTS
from actors.workflows.self_improver.phases import (
    Adapted,
    Analysis,
    Generated,
    Implemented,
    adapt,
    analyse,
    approve,
    generate,
    implement,
)
from actors.workflows.steps import RetryPolicy, Step, WorkflowDef

AREAS = (*COMPONENTS, "testing", "architecture", "dependencies")
PHASES = (
    "project_analysis_learning",
    "intelligent_improvement_generation",
    "automated_implementation",
    "learning_adaptation",
)
_DEPTH = {"surface": 10, "medium": 25, "deep": 50, "comprehensive": 200}
_FOCUS = {
    "security_focused": ["security"],
    "performance_focused": ["performance"],
    "documentation_focused": ["documentation"],
}


class SelfImproverParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    improvement_mode: Literal[
        "intelligent", "aggressive", "conservative",
        "performance_focused", "security_focused", "documentation_focused",
    ] = "intelligent"  # fmt: skip
    target_areas: str = "all"
    learning_depth: Literal["surface", "medium", "deep", "comprehensive"] = "deep"
    auto_apply: bool = False
    repository: str | None = None
    ai_providers: str = "all"

    def areas(self) -> list[str]:
        if self.target_areas.strip() == "all":
            return list(_FOCUS.get(self.improvement_mode, AREAS))
        return [a.strip() for a in self.target_areas.split(",") if a.strip()]

    def components(self) -> list[str]:
        return [a for a in self.areas() if a in COMPONENTS]

    def not_analysed(self) -> list[str]:
        return [a for a in self.areas() if a not in COMPONENTS]

    def providers(self) -> list[str]:
        if self.ai_providers.strip() == "all":
            return []
        return [p.strip() for p in self.ai_providers.split(",") if p.strip()]

    @property
    def max_findings(self) -> int:
        return _DEPTH[self.learning_depth]

    @property
    def min_confidence(self) -> float:
        return {"conservative": 0.8, "aggressive": 0.0}.get(self.improvement_mode, 0.5)


def _check(params: SelfImproverParams, scopes: Scopes) -> None:
    unknown = [a for a in params.areas() if a not in AREAS]
    if unknown:
        raise InvalidParameter("target_areas", f"unknown {unknown}; all or {AREAS}")
    strangers = [p for p in params.providers() if p not in PROVIDERS]
    if strangers:
        raise InvalidParameter("ai_providers", f"unknown {strangers}; all or {PROVIDERS}")
    scopes.code.resolve("repository", params.repository or ".")


def _result(params: SelfImproverParams, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    analysis = msgspec.convert(outputs["analyse"], Analysis)
    generated = msgspec.convert(outputs["generate"], Generated)
    implemented = msgspec.convert(outputs["implement"], Implemented)
    adapted = msgspec.convert(outputs["adapt"], Adapted)
    return {
        "improvements": msgspec.to_builtins(implemented.improvements),
        "metrics": adapted.metrics,
        "branch": implemented.branch,
        "commit": implemented.commit,
        "diff": implemented.diff,
        "calibration": adapted.calibration,
        "suggested_by": generated.suggested_by,
        "decided_by": generated.suggested_by or ["rules"],
        "not_analysed": analysis.not_analysed,
    }


SELF_IMPROVER: WorkflowDef[SelfImproverParams] = WorkflowDef(
    workflow_type="self-improver",
    params=SelfImproverParams,
    layers=PHASES,
    steps=(
        Step("analyse", "project_analysis_learning", analyse, Analysis),
        Step("generate", "intelligent_improvement_generation", generate, Generated),
        Step(
            "implement", "automated_implementation", implement, Implemented, RetryPolicy(attempts=2)
        ),
        Step("adapt", "learning_adaptation", adapt, Adapted),
    ),
    result=_result,
    check=_check,
    approve=approve,
    approve_step="implement",
    defaults={
        "default_mode": "improvement_mode",
        "default_depth": "learning_depth",
        "auto_apply": "auto_apply",
    },
)
