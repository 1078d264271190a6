"""Layer 2, `intelligence_decision`: rank the findings and decide an action for each.

The providers named in `ai_providers` are each asked (at most three; `all` lets the
router choose one) for a JSON ranking: `[{"id", "action": fix|follow_up|ignore,
"priority": 1-5, "reason"}]`. Several answers are merged: the action most of them chose
(ties: the more cautious, fix < follow_up < ignore), the mean priority. A finding no
answer covers, or every finding when no provider answers (none configured, or all
failing), is decided by the rules:

* fix — security findings of medium severity or worse, and any finding a linter can fix
  on its own;
* follow_up — the rest of medium severity or worse;
* ignore — low and info.

Priority follows severity (critical 1 .. info 5). Every decision says who decided:
`decided_by` is "rules" or the providers that answered.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import Any

import msgspec

from actors.workflows.orchestrator.detection import DetectOutput, Found
from actors.workflows.steps import StepContext

ACTIONS = ("fix", "follow_up", "ignore")
_PRIORITY = {"critical": 1, "high": 2, "medium": 3, "low": 4, "info": 5}
_MAX_ASKED = 3
_MAX_SHOWN = 30


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    finding_id: str
    action: str
    priority: int
    reason: str
    decided_by: str


class DecideOutput(msgspec.Struct, frozen=True, kw_only=True):
    decisions: list[Decision]
    decided_by: list[str]
    providers_asked: list[str]


def rules(finding: Found) -> Decision:
    serious = _PRIORITY.get(finding.severity, 5) <= 3
    if finding.fixable or (finding.component == "security" and serious):
        action, why = "fix", "a linter fixes it" if finding.fixable else "a risk"
    elif serious:
        action, why = "follow_up", f"{finding.severity} {finding.component} finding"
    else:
        action, why = "ignore", f"{finding.severity}: not worth a change now"
    return Decision(
        finding_id=finding.id,
        action=action,
        priority=_PRIORITY.get(finding.severity, 5),
        reason=why,
        decided_by="rules",
    )


def _prompt(found: list[Found]) -> list[dict[str, str]]:
    shown = [
        {k: getattr(f, k) for k in ("id", "component", "rule_id", "severity", "file", "line",
                                    "message")}
        for f in found[:_MAX_SHOWN]
    ]  # fmt: skip
    return [
        {
            "role": "system",
            "content": "You triage static-analysis findings. Answer with JSON only: a list"
            ' of {"id", "action" (fix, follow_up or ignore), "priority" (1 most urgent'
            ' to 5), "reason"}.',
        },
        {"role": "user", "content": json.dumps(shown)},
    ]


def parse(content: str, known: set[str]) -> dict[str, tuple[str, int, str]]:
    """The JSON list in an answer (code fences and prose around it are skipped)."""
    start, end = content.find("["), content.rfind("]")
    if start < 0 or end <= start:
        return {}
    try:
        items = json.loads(content[start : end + 1])
    except ValueError:
        return {}
    ranked: dict[str, tuple[str, int, str]] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("id") not in known:
            continue
        action = item.get("action")
        priority = item.get("priority")
        if action in ACTIONS and isinstance(priority, int) and 1 <= priority <= 5:
            ranked[item["id"]] = (action, priority, str(item.get("reason", ""))[:300])
    return ranked


async def decide(context: StepContext, params: Any) -> DecideOutput:
    detected = context.output("detect", DetectOutput)
    found = detected.findings
    known = {f.id for f in found}
    wanted = params.providers()
    asked = wanted[:_MAX_ASKED] if wanted else [None]
    answers: dict[str, dict[str, tuple[str, int, str]]] = {}
    if found:
        for provider in asked:
            answer = await context.ask(
                f"rank:{provider or 'router'}",
                _prompt(found),
                [provider] if provider else None,
            )
            if answer.provider is not None:
                ranked = parse(answer.content, known)
                if ranked:
                    answers[answer.provider] = ranked
            else:
                await context.log("warning", f"no AI answer ({answer.error}); rules decide")
    decisions = [_merge(f, answers) for f in found]
    decisions.sort(key=lambda d: (d.priority, int(d.finding_id[1:])))
    by = sorted({d.decided_by for d in decisions}) or ["rules"]
    return DecideOutput(
        decisions=decisions,
        decided_by=by,
        providers_asked=[p or "router" for p in asked] if found else [],
    )


def _merge(finding: Found, answers: dict[str, dict[str, tuple[str, int, str]]]) -> Decision:
    votes = {provider: ranked[finding.id] for provider, ranked in answers.items()
             if finding.id in ranked}  # fmt: skip
    if not votes:
        return rules(finding)
    counted = Counter(action for action, _, _ in votes.values())
    best = max(counted.values())
    action = next(a for a in ACTIONS if counted.get(a) == best)
    priority = round(statistics.mean(p for _, p, _ in votes.values()))
    reason = next(r for a, _, r in votes.values() if a == action)
    return Decision(
        finding_id=finding.id,
        action=action,
        priority=priority,
        reason=reason,
        decided_by="+".join(sorted(votes)),
    )
