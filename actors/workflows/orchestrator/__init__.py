"""The master orchestrator (POST /workflows/orchestrator/trigger): four layers, one step
each — detection_analysis (detection.py), intelligence_decision (decision.py),
execution_fix (fix.py), orchestration_management (management.py).

`orchestration_mode` chooses what is looked at when `target_components` is `all`:
`security_audit` security only, `performance_optimization` performance only,
`documentation_update` documentation only, the others every component. `repository` is
a folder inside AMAS_CODE_SCOPE (default: the scope's first folder).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from actors.agents.scope import Scopes
from actors.errors import InvalidParameter
from actors.workflows.orchestrator.decision import DecideOutput, decide
from actors.workflows.orchestrator.detection import COMPONENTS, DetectOutput, detect
from actors.workflows.orchestrator.fix import FixOutput, fix
from actors.workflows.orchestrator.management import ManageOutput, manage
from actors.workflows.steps import RetryPolicy, Step, WorkflowDef
from events.vocabulary import Priority

Mode = Literal[
    "intelligent",
    "full_analysis",
    "emergency_response",
    "performance_optimization",
    "security_audit",
    "documentation_update",
]
LAYERS = (
    "detection_analysis",
    "intelligence_decision",
    "execution_fix",
    "orchestration_management",
)
_MODE_COMPONENTS = {
    "security_audit": ["security"],
    "performance_optimization": ["performance"],
    "documentation_update": ["documentation"],
}
PROVIDERS = (
    "deepseek", "glm", "grok", "kimi", "qwen", "claude", "gpt4", "gemini", "openrouter",
    "groq", "cerebras", "nvidia", "codestral", "cohere", "chutes", "ollama",
)  # fmt: skip


class OrchestratorParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    orchestration_mode: Mode = "intelligent"
    target_components: str = "all"
    """`all` or a comma-separated list of code_quality, security, performance, documentation."""
    priority_level: Priority = Priority.NORMAL
    ai_providers: str = "all"
    """`all` (the router chooses) or a comma-separated list of providers, each asked."""
    repository: str | None = None
    max_findings: int = 50

    def components(self) -> list[str]:
        if self.target_components.strip() == "all":
            return list(_MODE_COMPONENTS.get(self.orchestration_mode, COMPONENTS))
        return [c.strip() for c in self.target_components.split(",") if c.strip()]

    def providers(self) -> list[str]:
        if self.ai_providers.strip() == "all":
            return []
        return [p.strip() for p in self.ai_providers.split(",") if p.strip()]


def _check(params: OrchestratorParams, scopes: Scopes) -> None:
    unknown = [c for c in params.components() if c not in COMPONENTS]
    if unknown:
        raise InvalidParameter("target_components", f"unknown {unknown}; all or {COMPONENTS}")
    strangers = [p for p in params.providers() if p not in PROVIDERS]
    if strangers:
        raise InvalidParameter("ai_providers", f"unknown {strangers}; all or {PROVIDERS}")
    if not 1 <= params.max_findings <= 500:
        raise InvalidParameter("max_findings", "between 1 and 500")
    scopes.code.resolve("repository", params.repository or ".")


def _result(params: OrchestratorParams, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    detected = msgspec.convert(outputs["detect"], DetectOutput)
    decided = msgspec.convert(outputs["decide"], DecideOutput)
    fixed = msgspec.convert(outputs["fix"], FixOutput)
    managed = msgspec.convert(outputs["manage"], ManageOutput)
    return {
        "analysis_results": {
            "repository": detected.repository,
            "components": detected.components,
            "metrics": detected.metrics,
            "findings": msgspec.to_builtins(detected.findings),
        },
        "decisions": {
            "decided_by": decided.decided_by,
            "providers_asked": decided.providers_asked,
            "items": msgspec.to_builtins(decided.decisions),
        },
        "execution": msgspec.to_builtins(fixed),
        "management": {
            "metrics": managed.metrics,
            "outcomes": msgspec.to_builtins(managed.outcomes),
            "report": managed.report,
        },
    }


ORCHESTRATOR: WorkflowDef[OrchestratorParams] = WorkflowDef(
    workflow_type="orchestrator",
    params=OrchestratorParams,
    layers=LAYERS,
    steps=(
        Step("detect", "detection_analysis", detect, DetectOutput),
        Step("decide", "intelligence_decision", decide, DecideOutput),
        Step("fix", "execution_fix", fix, FixOutput, RetryPolicy(attempts=2)),
        Step("manage", "orchestration_management", manage, ManageOutput),
    ),
    result=_result,
    check=_check,
    defaults={"default_mode": "orchestration_mode", "default_priority": "priority_level"},
)
