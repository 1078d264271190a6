"""`report_generation`: one report from earlier tasks' results, as Markdown, HTML or JSON.

Each task becomes a section: what ran, how it ended, its findings as a table (worst
first) and its other results as key facts. The HTML is rendered by Jinja2 with
autoescaping on and a strict Content-Security-Policy meta tag: results quote scanned
pages, banners and files, which are attacker-controlled. Markdown escapes the table
characters of whatever it quotes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.report_generation.render import Section, render

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class ReportParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=100)]
    format: Literal["markdown", "html", "json"] = "markdown"
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "AMAS report"


def _no_scope(params: ReportParams, scopes: Scopes) -> None:
    """Reports read only the log's own results: nothing to check against a scope."""


async def report(params: ReportParams, progress: Progress, context: Context) -> dict[str, Any]:
    sections: list[Section] = []
    for n, task_id in enumerate(dict.fromkeys(params.task_ids), 1):
        task = await context.read_task(task_id)
        sections.append(_section(task_id, task))
        await progress(n * 90 // len(params.task_ids), f"read {task_id}")
    findings = sum(len(s.findings) for s in sections)
    if params.format == "json":
        content: Any = {"title": params.title, "sections": msgspec.to_builtins(sections)}
    else:
        content = render(params.format, params.title, sections)
    return {
        "format": params.format,
        "title": params.title,
        "tasks": len(sections),
        "findings": findings,
        "content": content,
    }


def _section(task_id: str, task: dict[str, Any] | None) -> Section:
    if task is None:
        return Section(task_id=task_id, task_type="", status="unknown", note="no such task")
    result = task.get("result") if isinstance(task.get("result"), dict) else {}
    assert isinstance(result, dict)
    raw = result.get("findings") or result.get("threats") or []
    findings = [f for f in raw if isinstance(f, dict)] if isinstance(raw, list) else []
    findings.sort(key=lambda f: (_SEVERITY_ORDER.get(str(f.get("severity")), 5), -_risk(f)))
    facts = {
        key: value if isinstance(value, str | int | float | bool) else _short(value)
        for key, value in result.items()
        if key not in ("findings", "threats")
    }
    return Section(
        task_id=task_id,
        task_type=str(task.get("task_type", "")),
        status=str(task.get("status", "")),
        note=str(task.get("error") or ""),
        findings=[
            {
                "severity": str(f.get("severity", f.get("risk_level", ""))),
                "rule": str(f.get("rule_id", "")),
                "where": str(f.get("file") or f.get("target", "")),
                "description": str(f.get("description", "")),
                "remediation": str(f.get("remediation", "")),
            }
            for f in findings
        ],
        facts=facts,
    )


def _risk(finding: dict[str, Any]) -> int:
    risk = finding.get("risk")
    return risk if isinstance(risk, int) else 0


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


SKILL = Skill("report_generation", ReportParams, report, _no_scope)
