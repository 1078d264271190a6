"""Layer 3, `execution_fix`: a patch for each finding decided `fix`, kept only if it works.

Every change happens in a separate git worktree on the branch `amas/<workflow id>`
(never the checked-out branch or the working tree): first the linter's own autofix
where one exists (a lint finding ruff fixes safely), else a unified diff proposed by a
provider (asked under a stable key, so a resumed step reuses the answer). A patch is
kept (committed on the branch) only if re-running the check shows the finding gone
(verify.finding_gone); otherwise it is undone and the finding becomes a follow-up, with
the reason. Findings decided `follow_up` are follow-ups too. With no provider, findings
no linter can fix are follow-ups: nothing is invented.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import msgspec

from actors.workflows import gitops
from actors.workflows.fixing import fresh_worktree, try_fix
from actors.workflows.orchestrator.decision import DecideOutput
from actors.workflows.orchestrator.detection import DetectOutput
from actors.workflows.steps import StepContext


class Fix(msgspec.Struct, frozen=True, kw_only=True):
    finding_id: str
    rule_id: str
    file: str
    method: str
    """autofix or provider:<id>."""
    kept: bool
    reason: str


class FollowUp(msgspec.Struct, frozen=True, kw_only=True):
    finding_id: str
    rule_id: str
    file: str
    line: int
    reason: str


class FixOutput(msgspec.Struct, frozen=True, kw_only=True):
    branch: str | None
    commit: str | None
    fixes: list[Fix]
    follow_ups: list[FollowUp]
    diff: str


async def fix(context: StepContext, params: Any) -> FixOutput:
    detected = context.output("detect", DetectOutput)
    decided = context.output("decide", DecideOutput)
    by_id = {f.id: f for f in detected.findings}
    chosen = [by_id[d.finding_id] for d in decided.decisions if d.action == "fix"]
    follow_ups = [
        FollowUp(finding_id=d.finding_id, rule_id=by_id[d.finding_id].rule_id,
                 file=by_id[d.finding_id].file, line=by_id[d.finding_id].line,
                 reason=f"decided follow_up by {d.decided_by}: {d.reason}")
        for d in decided.decisions if d.action == "follow_up"
    ]  # fmt: skip
    if not chosen:
        return FixOutput(branch=None, commit=None, fixes=[], follow_ups=follow_ups, diff="")
    gitops.require_git()
    repository = Path(detected.repository)
    fixes: list[Fix] = []
    async with contextlib.AsyncExitStack() as stack:
        branch, tree = await fresh_worktree(stack, repository, context.workflow_id)
        for finding in chosen:
            tried = await try_fix(context, tree, msgspec.to_builtins(finding), params.providers())
            done = Fix(finding_id=finding.id, rule_id=finding.rule_id, file=finding.file,
                       method=tried.method, kept=tried.kept, reason=tried.reason)  # fmt: skip
            fixes.append(done)
            if not done.kept:
                follow_ups.append(FollowUp(finding_id=finding.id, rule_id=finding.rule_id,
                                           file=finding.file, line=finding.line,
                                           reason=done.reason))  # fmt: skip
        kept = [f for f in fixes if f.kept]
        diff = await gitops.diff(tree) if kept else ""
        commit = None
        if kept:
            message = f"AMAS {context.workflow_id}: fix " + ", ".join(
                sorted({f.rule_id for f in kept})
            )
            commit = await gitops.commit(tree, message)
    await context.log("info", f"{len(kept)} of {len(chosen)} fixes kept on {branch}")
    return FixOutput(
        branch=branch if commit else None,
        commit=commit,
        fixes=fixes,
        follow_ups=follow_ups,
        diff=diff,
    )
