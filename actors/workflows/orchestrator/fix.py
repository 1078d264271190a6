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
from actors.workflows.orchestrator.decision import DecideOutput
from actors.workflows.orchestrator.detection import DetectOutput, Found
from actors.workflows.steps import StepContext
from actors.workflows.verify import finding_gone


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


def _patch_prompt(finding: Found, source: str) -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": "You fix one static-analysis finding. Answer with a unified diff only"
            " (--- a/FILE, +++ b/FILE, @@ hunks), changing as little as possible.",
        },
        {
            "role": "user",
            "content": f"{finding.file}:{finding.line} {finding.rule_id}: {finding.message}\n"
            f"Suggestion: {finding.suggestion}\n\n--- {finding.file}\n{source}",
        },
    ]


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
        branch, tree = await _fresh_worktree(stack, repository, context.workflow_id)
        for finding in chosen:
            done = await _one(context, params, tree, finding)
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


async def _one(context: StepContext, params: Any, tree: Path, finding: Found) -> Fix:
    as_dict = msgspec.to_builtins(finding)
    if finding.fixable:
        changed = await gitops.autofix(tree, finding.file, finding.rule_id)
        if changed and await finding_gone(tree, as_dict):
            return _fix(finding, "autofix", True, "the linter's autofix; the check passes")
        await _undo(tree, finding.file)
        return _fix(finding, "autofix", False, "the autofix did not clear the finding")
    providers = params.providers()
    answer = await context.ask(
        f"patch:{finding.id}",
        _patch_prompt(finding, (tree / finding.file).read_text(errors="replace")[:20_000]),
        providers[:1] or None,
    )
    if answer.provider is None:
        return _fix(finding, "none", False, "no linter fix and no provider to propose one")
    method = f"provider:{answer.provider}"
    if not await gitops.apply_patch(tree, _diff_in(answer.content)):
        return _fix(finding, method, False, "the proposed patch does not apply")
    if await finding_gone(tree, as_dict):
        return _fix(finding, method, True, "the proposed patch applies; the check passes")
    await _undo(tree, finding.file)
    return _fix(finding, method, False, "the patch applied but the finding is still there")


async def _fresh_worktree(
    stack: contextlib.AsyncExitStack, repository: Path, workflow_id: str
) -> tuple[str, Path]:
    """A worktree on `amas/<workflow id>`, or `-2`, `-3` ... when an attempt cut short (a
    killed node) left that branch behind: its half-made fixes are not built on."""
    for n in range(1, 20):
        branch = f"amas/{workflow_id}" + (f"-{n}" if n > 1 else "")
        try:
            tree = await stack.enter_async_context(gitops.worktree(repository, branch))
        except gitops.GitError as e:
            if "exists already" in str(e):
                continue
            raise
        return branch, tree
    raise gitops.GitError(f"amas/{workflow_id}: 19 branches exist already")


def _fix(finding: Found, method: str, kept: bool, reason: str) -> Fix:
    return Fix(finding_id=finding.id, rule_id=finding.rule_id, file=finding.file,
               method=method, kept=kept, reason=reason)  # fmt: skip


def _diff_in(content: str) -> str:
    """The diff in an answer (a ```diff fence or the text from its first ---)."""
    if "```" in content:
        parts = content.split("```")
        fenced = next((p for p in parts[1::2] if "@@" in p), "")
        content = fenced.split("\n", 1)[1] if fenced.startswith(("diff", "patch")) else fenced
    start = content.find("--- ")
    return content[start:] if start >= 0 else ""


async def _undo(tree: Path, file: str) -> None:
    await gitops.restore(tree, file)
