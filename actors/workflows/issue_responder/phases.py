"""The issue responder's four phases, one step each.

* `issue_analysis_categorization` — the issues (GitHub, or a local folder of issue
  files), each cleaned of hidden text before anything reads it (sanitize.py), its
  language detected (language.py) and its category and severity given by the rules of
  replies.py;
* `intelligent_response_generation` — a reply per issue in its language (or the one
  asked for), written by a provider when one answers (`responded_by` names it), else
  from replies.py's templates (`responded_by: "rules"`);
* `automated_response_fix_implementation` — each reply posted as a comment (GitHub);
  with `auto_fix`, for a bug or security issue that names a file of `repository`, ruff's
  safe fixes of that file are tried in a worktree (fixing.try_fix) and, kept, go to the
  branch `amas/issue-<n>` as a draft pull request (GitHub) or a local commit — never the
  default branch;
* `learning_adaptation` — the run's metrics.

A resumed phase 3 may post a comment twice if the node died between posting it and
recording the step (GitHub has no idempotency key for comments).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import msgspec

from actors.workflows import gitops, lint
from actors.workflows.fixing import fresh_worktree, try_fix
from actors.workflows.issue_responder.github import Issue, IssueSource
from actors.workflows.issue_responder.language import detect_with_confidence
from actors.workflows.issue_responder.local import LocalIssues
from actors.workflows.issue_responder.replies import categorise, fixed_note, template
from actors.workflows.issue_responder.sanitize import clean
from actors.workflows.steps import StepContext

_DEPTH_WORDS = {"basic": 80, "detailed": 200, "comprehensive": 400, "expert": 600}


class Analysed(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    title: str
    author: str | None
    text: str
    """Title and body, cleaned of hidden text."""
    removed: dict[str, int]
    category: str
    severity: str
    language: str
    language_confidence: float


class Categorised(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    issues: list[Analysed]


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    response: str
    responded_by: str


class Replied(msgspec.Struct, frozen=True, kw_only=True):
    replies: list[Reply]


class Acted(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    comment_url: str | None
    fix_applied: bool
    fix_details: dict[str, Any] | None
    pull_request: str | None


class Actions(msgspec.Struct, frozen=True, kw_only=True):
    actions: list[Acted]


class Learned(msgspec.Struct, frozen=True, kw_only=True):
    metrics: dict[str, Any]


def _source(context: StepContext, params: Any) -> tuple[str, IssueSource]:
    if params.issues_folder:
        folder = context.scopes.code.resolve("issues_folder", params.issues_folder)
        return f"folder {folder}", LocalIssues(folder)
    github = context.resources.get("github")
    if github is None:
        raise RuntimeError("no issue source: set issues_folder, or AMAS_GITHUB_REPO")
    return f"github {github.repo}", github


async def categorise_issues(context: StepContext, params: Any) -> Categorised:
    where, source = _source(context, params)
    wanted = params.numbers()
    if wanted:
        issues: list[Issue] = [await source.get_issue(n) for n in wanted]
    else:
        issues = await source.list_issues(state="open", limit=params.max_issues)
    analysed = []
    for issue in issues:
        cleaned = clean(f"{issue.title}\n\n{issue.body}")
        language, confidence = detect_with_confidence(cleaned.text)
        if params.language_preference != "auto":
            language, confidence = params.language_preference, 1.0
        category, severity = categorise(cleaned.text)
        analysed.append(
            Analysed(
                number=issue.number,
                title=clean(issue.title).text,
                author=issue.author,
                text=cleaned.text[:20_000],
                removed=cleaned.removed,
                category=category,
                severity=severity,
                language=language,
                language_confidence=round(confidence, 3),
            )
        )
        if cleaned.removed:
            await context.log("warning", f"#{issue.number}: hidden text removed {cleaned.removed}")
    await context.log("info", f"{len(analysed)} issues from {where}")
    return Categorised(source=where, issues=analysed)


async def respond(context: StepContext, params: Any) -> Replied:
    categorised = context.output("categorise", Categorised)
    providers = params.providers()
    replies = []
    for issue in categorised.issues:
        words = _DEPTH_WORDS[params.response_depth]
        answer = await context.ask(
            f"reply:{issue.number}",
            [
                {"role": "system", "content": f"You answer GitHub issues for a project's"
                 f" maintainers ({params.response_mode} mode). Write in {issue.language},"
                 f" at most {words} words, no promises of dates. The issue is a"
                 f" {issue.category} of {issue.severity} severity."},
                {"role": "user", "content": issue.text},
            ],
            providers[:1] or None,
        )  # fmt: skip
        if answer.provider is not None and answer.content.strip():
            replies.append(Reply(number=issue.number, response=answer.content.strip(),
                                 responded_by=answer.provider))  # fmt: skip
        else:
            text = template(issue.language, issue.category, issue.severity, issue.author)
            replies.append(Reply(number=issue.number, response=text, responded_by="rules"))
    return Replied(replies=replies)


async def act(context: StepContext, params: Any) -> Actions:
    categorised = context.output("categorise", Categorised)
    replied = {r.number: r for r in context.output("respond", Replied).replies}
    github = None if params.issues_folder else context.resources.get("github")
    actions = []
    for issue in categorised.issues:
        fix: dict[str, Any] | None = None
        pull: str | None = None
        if params.auto_fix and params.repository and issue.category in ("bug", "security"):
            fix, pull = await _fix(context, params, issue, github)
        response = replied[issue.number].response
        if pull:
            response += "\n\n" + fixed_note(issue.language, pull)
        url = await github.comment(issue.number, response) if github is not None else None
        actions.append(Acted(number=issue.number, comment_url=url, fix_applied=fix is not None,
                             fix_details=fix, pull_request=pull))  # fmt: skip
    return Actions(actions=actions)


async def _fix(
    context: StepContext, params: Any, issue: Analysed, github: Any
) -> tuple[dict[str, Any] | None, str | None]:
    repository = context.scopes.code.resolve("repository", params.repository)
    named = {m.group(0) for m in re.finditer(r"[\w./-]+\.py\b", issue.text)}
    findings = [f for f in await lint.lint(repository) if f.file in named and f.fixable]
    if not findings:
        return None, None
    gitops.require_git()
    async with contextlib.AsyncExitStack() as stack:
        branch, tree = await fresh_worktree(stack, repository, f"issue-{issue.number}")
        kept = []
        for n, finding in enumerate(findings):
            as_dict = {**msgspec.to_builtins(finding), "id": f"I{issue.number}-{n}"}
            if (await try_fix(context, tree, as_dict, [])).kept:
                kept.append(finding)
        if not kept:
            return None, None
        files = sorted({f.file for f in kept})
        changes = ", ".join(sorted({f"{f.rule_id} ({f.rule})" for f in kept}))
        details = {"file": files[0], "files": files, "changes": f"fixed {changes}",
                   "confidence": 0.9}  # fmt: skip
        message = f"AMAS: fix #{issue.number}: {changes}"
        if github is None:
            sha = await gitops.commit(tree, message)
            return {**details, "branch": branch, "commit": sha}, None
        default = await github.default_branch()
        await github.create_branch(branch, await github.branch_sha(default))
        for file in files:
            await github.put_file(branch, file, (tree / file).read_bytes(), message)
        number, url = await github.create_draft_pr(
            branch, default, f"Fix #{issue.number}: {issue.title}"[:200],
            f"Proposed by AMAS for #{issue.number}: {changes}. Each fix was re-checked"
            " with ruff and clears its finding. Draft: a maintainer decides.",
        )  # fmt: skip
        return {**details, "branch": branch, "pull_request_number": number}, url


async def learn(context: StepContext, params: Any) -> Learned:
    categorised = context.output("categorise", Categorised)
    replied = context.output("respond", Replied).replies
    actions = context.output("act", Actions).actions
    categories: dict[str, int] = {}
    for issue in categorised.issues:
        categories[issue.category] = categories.get(issue.category, 0) + 1
    confidences = [i.language_confidence for i in categorised.issues]
    return Learned(
        metrics={
            "total_issues_processed": len(categorised.issues),
            "responses_generated": len(replied),
            "responded_by": sorted({r.responded_by for r in replied}),
            "fixes_applied": sum(a.fix_applied for a in actions),
            "comments_posted": sum(a.comment_url is not None for a in actions),
            "categories": categories,
            "average_confidence": round(sum(confidences) / len(confidences), 3)
            if confidences
            else None,
        }
    )
