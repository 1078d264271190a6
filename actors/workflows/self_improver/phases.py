"""The self-improver's four phases, one step each.

* `project_analysis_learning` — the orchestrator's detection over the target areas, and
  what earlier runs learned: each rule's calibrated confidence;
* `intelligent_improvement_generation` — an improvement per finding (type, description,
  file, line, suggestion, confidence); the providers in `ai_providers`, when one
  answers, may sharpen a suggestion (`[{"id", "suggestion"}]` as JSON);
* `automated_implementation` — each improvement tried in a worktree (fixing.try_fix):
  verified ones are committed to `amas/self-improver-<id>` when `auto_apply`, else kept
  as a verified diff for approval; the checked-out branch is never touched;
* `learning_adaptation` — each rule's confidence from what was verified, this run and
  before: (verified + 2 x prior) / (tried + 2), the prior being the rule's confidence so
  far (the finding's own: high 0.9, medium 0.7, low 0.5, before any run).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import msgspec

from actors.workflows import gitops
from actors.workflows.fixing import fresh_worktree, try_fix
from actors.workflows.orchestrator.detection import DetectOutput, Found, detect
from actors.workflows.steps import StepContext

_PRIOR = {"high": 0.9, "medium": 0.7, "low": 0.5}
_WEIGHT = 2.0


class Analysis(msgspec.Struct, frozen=True, kw_only=True):
    detected: DetectOutput
    calibration: dict[str, float]
    """rule -> its confidence as earlier runs left it."""
    not_analysed: list[str]
    """Target areas no check here covers (testing, architecture, dependencies)."""


class Improvement(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    description: str
    file: str
    line: int
    suggestion: str
    confidence: float
    rule_id: str
    applied: bool = False
    verified: bool = False
    method: str | None = None
    reason: str | None = None


class Generated(msgspec.Struct, frozen=True, kw_only=True):
    improvements: list[Improvement]
    suggested_by: list[str]


class Implemented(msgspec.Struct, frozen=True, kw_only=True):
    improvements: list[Improvement]
    branch: str | None
    commit: str | None
    diff: str


class Adapted(msgspec.Struct, frozen=True, kw_only=True):
    calibration: dict[str, dict[str, float]]
    metrics: dict[str, Any]


async def analyse(context: StepContext, params: Any) -> Analysis:
    detected = await detect(context, params)
    calibration: dict[str, float] = {}
    for earlier in reversed(await context.history("adapt", 20)):
        for rule, learned in earlier.get("calibration", {}).items():
            calibration[rule] = float(learned["confidence"])
    return Analysis(detected=detected, calibration=calibration, not_analysed=params.not_analysed())


def _confidence(finding: Found, calibration: dict[str, float]) -> float:
    return round(calibration.get(finding.rule_id, _PRIOR.get(finding.confidence, 0.5)), 3)


async def generate(context: StepContext, params: Any) -> Generated:
    analysis = context.output("analyse", Analysis)
    found = analysis.detected.findings
    improvements = [
        Improvement(
            id=f.id,
            type=f.component,
            description=f.message,
            file=f.file,
            line=f.line,
            suggestion=f.suggestion,
            confidence=_confidence(f, analysis.calibration),
            rule_id=f.rule_id,
        )
        for f in found
    ]
    suggested_by: list[str] = []
    providers = params.providers()
    if improvements:
        shown = [{"id": i.id, "file": i.file, "line": i.line, "issue": i.description}
                 for i in improvements[:30]]  # fmt: skip
        answer = await context.ask(
            "suggest",
            [
                {"role": "system", "content": "Suggest one concrete improvement per item."
                 ' Answer with JSON only: [{"id", "suggestion"}].'},
                {"role": "user", "content": json.dumps(shown)},
            ],
            providers[:1] or None,
        )  # fmt: skip
        better = _suggestions(answer.content) if answer.provider else {}
        if better:
            suggested_by.append(str(answer.provider))
            improvements = [
                msgspec.structs.replace(i, suggestion=better[i.id]) if i.id in better else i
                for i in improvements
            ]
    return Generated(improvements=improvements, suggested_by=suggested_by)


def _suggestions(content: str) -> dict[str, str]:
    start, end = content.find("["), content.rfind("]")
    try:
        items = json.loads(content[start : end + 1]) if 0 <= start < end else []
    except ValueError:
        return {}
    return {
        str(item["id"]): str(item["suggestion"])[:500]
        for item in items
        if isinstance(item, dict) and "id" in item and isinstance(item.get("suggestion"), str)
    }


async def implement(context: StepContext, params: Any) -> Implemented:
    analysis = context.output("analyse", Analysis)
    generated = context.output("generate", Generated)
    by_id = {f.id: f for f in analysis.detected.findings}
    worth = [i for i in generated.improvements if i.confidence >= params.min_confidence]
    if not worth:
        return Implemented(improvements=generated.improvements, branch=None, commit=None, diff="")
    gitops.require_git()
    tried: dict[str, Improvement] = {}
    async with contextlib.AsyncExitStack() as stack:
        branch, tree = await fresh_worktree(
            stack, Path(analysis.detected.repository), context.workflow_id
        )
        for improvement in worth:
            finding = msgspec.to_builtins(by_id[improvement.id])
            result = await try_fix(context, tree, finding, params.providers())
            tried[improvement.id] = msgspec.structs.replace(
                improvement, verified=result.kept, method=result.method, reason=result.reason
            )
        verified = [i for i in tried.values() if i.verified]
        diff = await gitops.diff(tree) if verified else ""
        commit = None
        if verified and params.auto_apply:
            commit = await gitops.commit(tree, f"AMAS {context.workflow_id}: {len(verified)}"
                                         " verified improvements")  # fmt: skip
    applied = commit is not None
    improvements = [
        msgspec.structs.replace(tried[i.id], applied=applied and tried[i.id].verified)
        if i.id in tried
        else i
        for i in generated.improvements
    ]
    return Implemented(
        improvements=improvements,
        branch=branch if applied else None,
        commit=commit,
        diff=diff,
    )


async def adapt(context: StepContext, params: Any) -> Adapted:
    analysis = context.output("analyse", Analysis)
    implemented = context.output("implement", Implemented)
    by_rule: dict[str, list[Improvement]] = {}
    for improvement in implemented.improvements:
        if improvement.method is not None:
            by_rule.setdefault(improvement.rule_id, []).append(improvement)
    calibration: dict[str, dict[str, float]] = {}
    for rule, items in by_rule.items():
        prior = analysis.calibration.get(rule, items[0].confidence)
        verified = sum(i.verified for i in items)
        confidence = (verified + _WEIGHT * prior) / (len(items) + _WEIGHT)
        calibration[rule] = {
            "confidence": round(confidence, 3),
            "tried": float(len(items)),
            "verified": float(verified),
        }
    improvements = implemented.improvements
    return Adapted(
        calibration=calibration,
        metrics={
            "total_improvements": len(improvements),
            "applied_improvements": sum(i.applied for i in improvements),
            "verified_improvements": sum(i.verified for i in improvements),
            "confidence_score": round(
                sum(i.confidence for i in improvements) / len(improvements), 3
            )
            if improvements
            else None,
            "performance_gain": None,
        },
    )


async def approve(context: StepContext, params: Any, chosen: list[str]) -> dict[str, Any]:
    """Apply chosen verified improvements of a run made without `auto_apply`: each is
    tried again in a fresh worktree (reusing the provider patches the run recorded) and
    the kept ones are committed to `amas/self-improver-<id>-approved`."""
    if params.auto_apply:
        raise ValueError("this run applied its improvements already (auto_apply)")
    analysis = context.output("analyse", Analysis)
    implemented = context.output("implement", Implemented)
    verified = {i.id: i for i in implemented.improvements if i.verified}
    strangers = sorted(set(chosen) - set(verified))
    if not chosen or strangers:
        raise ValueError(f"not verified improvements of this run: {strangers or 'none given'};"
                         f" verified: {sorted(verified)}")  # fmt: skip
    by_id = {f.id: f for f in analysis.detected.findings}
    gitops.require_git()
    kept: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        branch, tree = await fresh_worktree(
            stack, Path(analysis.detected.repository), f"{context.workflow_id}-approved"
        )
        for improvement_id in chosen:
            finding = msgspec.to_builtins(by_id[improvement_id])
            if (await try_fix(context, tree, finding, params.providers())).kept:
                kept.append(improvement_id)
        commit = (
            await gitops.commit(tree, f"AMAS {context.workflow_id}: approved {', '.join(kept)}")
            if kept
            else None
        )
    return {"applied": kept, "branch": branch if commit else None, "commit": commit}
