"""Layer 4, `orchestration_management`: the report, the metrics, and the outcome of
every decision (what the decision engine learns from).

The report is the reporting agent's work (a report_generation task over layer 1's
tasks, as Markdown) with this run's decisions and fixes appended; the outcome of each
decision is `fixed`, `fix_failed`, `follow_up` or `ignored`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.workflows.orchestrator.decision import DecideOutput
from actors.workflows.orchestrator.detection import DetectOutput
from actors.workflows.orchestrator.fix import FixOutput
from actors.workflows.steps import StepContext


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    finding_id: str
    action: str
    decided_by: str
    outcome: str


class ManageOutput(msgspec.Struct, frozen=True, kw_only=True):
    report: str
    report_task_id: str | None
    metrics: dict[str, Any]
    outcomes: list[Outcome]


async def manage(context: StepContext, params: Any) -> ManageOutput:
    detected = context.output("detect", DetectOutput)
    decided = context.output("decide", DecideOutput)
    fixed = context.output("fix", FixOutput)
    kept = {f.finding_id for f in fixed.fixes if f.kept}
    tried = {f.finding_id for f in fixed.fixes}
    outcomes = []
    for d in decided.decisions:
        if d.action == "fix":
            outcome = (
                "fixed"
                if d.finding_id in kept
                else "fix_failed"
                if d.finding_id in tried
                else "follow_up"
            )
        else:
            outcome = "follow_up" if d.action == "follow_up" else "ignored"
        outcomes.append(Outcome(finding_id=d.finding_id, action=d.action,
                                decided_by=d.decided_by, outcome=outcome))  # fmt: skip
    report, task_id = "", None
    if detected.task_ids:
        [task] = await context.tasks(
            [("report_generation", {"task_ids": detected.task_ids, "format": "markdown",
                                    "title": f"Orchestrator run {context.workflow_id}"})]
        )  # fmt: skip
        task_id = task["task_id"]
        if task["status"] == "completed":
            report = task["result"]["content"]
    report += _summary(decided, fixed)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    return ManageOutput(
        report=report,
        report_task_id=task_id,
        metrics={
            "findings": detected.metrics.get("findings", 0),
            "decisions": len(decided.decisions),
            "decided_by": decided.decided_by,
            "fixes_kept": len(kept),
            "fixes_tried": len(tried),
            "follow_ups": len(fixed.follow_ups),
            "outcomes": counts,
        },
        outcomes=outcomes,
    )


def _summary(decided: DecideOutput, fixed: FixOutput) -> str:
    lines = ["", "## Decisions", "", "| Finding | Action | Priority | Decided by | Reason |",
             "|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {d.finding_id} | {d.action} | {d.priority} | {d.decided_by} | "
              f"{d.reason.replace('|', '/')} |" for d in decided.decisions]  # fmt: skip
    lines += ["", "## Fixes", ""]
    lines += [f"- {f.finding_id} {f.rule_id} in {f.file}: {'kept' if f.kept else 'not kept'}"
              f" ({f.method}; {f.reason})" for f in fixed.fixes] or ["- none"]  # fmt: skip
    if fixed.branch:
        lines += ["", f"Kept fixes are committed on branch `{fixed.branch}` ({fixed.commit})."]
    return "\n".join(lines) + "\n"
