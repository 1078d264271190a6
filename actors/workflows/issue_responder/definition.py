"""The issue auto-responder (POST /workflows/issue-responder/trigger): four phases
(phases.py) over the issues of GitHub (AMAS_GITHUB_REPO, GITHUB_TOKEN,
AMAS_GITHUB_API_URL) or of a local folder of issue files (`issues_folder`, inside
AMAS_CODE_SCOPE). `target_issues` is `all` (the open ones, at most `max_issues`) or
issue numbers; fixes (`auto_fix`) need `repository`, a local clone inside the code scope.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from actors.agents.scope import Scopes
from actors.errors import InvalidParameter
from actors.workflows.issue_responder.language import LANGUAGES
from actors.workflows.issue_responder.phases import (
    Actions,
    Categorised,
    Learned,
    Replied,
    act,
    categorise_issues,
    learn,
    respond,
)
from actors.workflows.orchestrator import PROVIDERS
from actors.workflows.steps import RetryPolicy, Step, WorkflowDef

PHASES = (
    "issue_analysis_categorization",
    "intelligent_response_generation",
    "automated_response_fix_implementation",
    "learning_adaptation",
)


class IssueResponderParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    response_mode: Literal[
        "intelligent", "aggressive", "conservative",
        "technical_focused", "user_friendly", "automated_fix",
    ] = "intelligent"  # fmt: skip
    response_depth: Literal["basic", "detailed", "comprehensive", "expert"] = "comprehensive"
    auto_fix: bool = False
    language_preference: str = "auto"
    target_issues: str = "all"
    issues_folder: str | None = None
    repository: str | None = None
    ai_providers: str = "all"
    max_issues: int = 30

    def numbers(self) -> list[int]:
        if self.target_issues.strip() == "all":
            return []
        return [int(n.strip().lstrip("#")) for n in self.target_issues.split(",") if n.strip()]

    def providers(self) -> list[str]:
        if self.ai_providers.strip() == "all":
            return []
        return [p.strip() for p in self.ai_providers.split(",") if p.strip()]


def _check(params: IssueResponderParams, scopes: Scopes) -> None:
    try:
        params.numbers()
    except ValueError:
        raise InvalidParameter("target_issues", "all or issue numbers: 12,14") from None
    if params.language_preference not in ("auto", *LANGUAGES):
        raise InvalidParameter("language_preference", f"auto or one of {LANGUAGES}")
    strangers = [p for p in params.providers() if p not in PROVIDERS]
    if strangers:
        raise InvalidParameter("ai_providers", f"unknown {strangers}; all or {PROVIDERS}")
    if not 1 <= params.max_issues <= 100:
        raise InvalidParameter("max_issues", "between 1 and 100")
    if params.issues_folder:
        scopes.code.resolve("issues_folder", params.issues_folder)
    if params.repository:
        scopes.code.resolve("repository", params.repository)


def _result(params: IssueResponderParams, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    categorised = msgspec.convert(outputs["categorise"], Categorised)
    replies = {r.number: r for r in msgspec.convert(outputs["respond"], Replied).replies}
    actions = {a.number: a for a in msgspec.convert(outputs["act"], Actions).actions}
    learned = msgspec.convert(outputs["learn"], Learned)
    return {
        "source": categorised.source,
        "responses": [
            {
                "issue_number": issue.number,
                "title": issue.title,
                "category": issue.category,
                "severity": issue.severity,
                "response": replies[issue.number].response,
                "responded_by": replies[issue.number].responded_by,
                "fix_applied": actions[issue.number].fix_applied,
                "fix_details": actions[issue.number].fix_details,
                "pull_request": actions[issue.number].pull_request,
                "comment_url": actions[issue.number].comment_url,
                "language": issue.language,
                "hidden_text_removed": issue.removed,
            }
            for issue in categorised.issues
        ],
        "metrics": learned.metrics,
    }


ISSUE_RESPONDER: WorkflowDef[IssueResponderParams] = WorkflowDef(
    workflow_type="issue-responder",
    params=IssueResponderParams,
    layers=PHASES,
    steps=(
        Step("categorise", "issue_analysis_categorization", categorise_issues, Categorised),
        Step("respond", "intelligent_response_generation", respond, Replied),
        Step("act", "automated_response_fix_implementation", act, Actions, RetryPolicy(attempts=2)),
        Step("learn", "learning_adaptation", learn, Learned),
    ),
    result=_result,
    check=_check,
    defaults={
        "default_mode": "response_mode",
        "default_depth": "response_depth",
        "auto_fix": "auto_fix",
    },
)
