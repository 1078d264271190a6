"""Trying one fix in a worktree, and keeping it only if the finding is gone.

Shared by the orchestrator's layer 3 and the self-improver's implementation phase: the
linter's own autofix where one exists, else a unified diff a provider proposes (asked
under a stable key, so a resumed step reuses the answer); kept only if re-running the
check (verify.finding_gone) shows the finding gone, undone otherwise.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import msgspec

from actors.workflows import gitops
from actors.workflows.steps import StepContext
from actors.workflows.verify import finding_gone


class Tried(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    """autofix, provider:<id>, or none."""
    kept: bool
    reason: str


def _patch_prompt(finding: dict[str, Any], source: str) -> list[dict[str, str]]:
    return [
        {
            "role": "system",
            "content": "You fix one static-analysis finding. Answer with a unified diff only"
            " (--- a/FILE, +++ b/FILE, @@ hunks), changing as little as possible.",
        },
        {
            "role": "user",
            "content": f"{finding['file']}:{finding['line']} {finding['rule_id']}: "
            f"{finding.get('message', '')}\nSuggestion: {finding.get('suggestion', '')}\n\n"
            f"--- {finding['file']}\n{source}",
        },
    ]


async def try_fix(
    context: StepContext, tree: Path, finding: dict[str, Any], providers: list[str]
) -> Tried:
    """Fix `finding` (a dict with kind, rule_id, file, line, id, fixable) in `tree`."""
    if finding.get("fixable"):
        changed = await gitops.autofix(tree, finding["file"], finding["rule_id"])
        if changed and await finding_gone(tree, finding):
            return Tried(
                method="autofix", kept=True, reason="the linter's autofix; the check passes"
            )
        await gitops.restore(tree, finding["file"])
        return _tried("autofix", False, "the autofix did not clear the finding")
    source = (tree / finding["file"]).read_text(errors="replace")[:20_000]
    answer = await context.ask(
        f"patch:{finding['id']}", _patch_prompt(finding, source), providers[:1] or None
    )
    if answer.provider is None:
        return Tried(
            method="none", kept=False, reason="no linter fix and no provider to propose one"
        )
    method = f"provider:{answer.provider}"
    if not await gitops.apply_patch(tree, diff_in(answer.content)):
        return _tried(method, False, "the proposed patch does not apply")
    if await finding_gone(tree, finding):
        return Tried(
            method=method, kept=True, reason="the proposed patch applies; the check passes"
        )
    await gitops.restore(tree, finding["file"])
    return Tried(
        method=method, kept=False, reason="the patch applied but the finding is still there"
    )


def _tried(method: str, kept: bool, reason: str) -> Tried:
    return Tried(method=method, kept=kept, reason=reason)


def diff_in(content: str) -> str:
    """The diff in an answer (a ```diff fence or the text from its first ---)."""
    if "```" in content:
        parts = content.split("```")
        fenced = next((p for p in parts[1::2] if "@@" in p), "")
        content = fenced.split("\n", 1)[1] if fenced.startswith(("diff", "patch")) else fenced
    start = content.find("--- ")
    return content[start:] if start >= 0 else ""


async def fresh_worktree(
    stack: contextlib.AsyncExitStack, repository: Path, name: str
) -> tuple[str, Path]:
    """A worktree on `amas/<name>`, or `-2`, `-3` ... when an attempt cut short (a killed
    node) left that branch behind: its half-made fixes are not built on."""
    for n in range(1, 20):
        branch = f"amas/{name}" + (f"-{n}" if n > 1 else "")
        try:
            tree = await stack.enter_async_context(gitops.worktree(repository, branch))
        except gitops.GitError as e:
            if "exists already" in str(e):
                continue
            raise
        return branch, tree
    raise gitops.GitError(f"amas/{name}: 19 branches exist already")
