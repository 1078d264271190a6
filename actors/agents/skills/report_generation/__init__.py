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
from actors.agents.skills.report_generation.findings import findings_of
from actors.agents.skills.report_generation.render import Section, render


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
        sections.append(section(task_id, task))
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


_LISTED = frozenset({"findings", "threats", "vulnerabilities", "informational"})
"""Keys whose entries are the section's findings table, not its facts."""


def section(task_id: str, task: dict[str, Any] | None) -> Section:
    """One task as a report's section: its findings as a table, the rest as facts."""
    if task is None:
        return Section(task_id=task_id, task_type="", status="unknown", note="no such task")
    result = task.get("result") if isinstance(task.get("result"), dict) else {}
    assert isinstance(result, dict)
    merged = result.get("security_scan")  # a composite's result, under its name
    facts = {
        key: value if isinstance(value, str | int | float | bool) else _short(value)
        for key, value in (merged if isinstance(merged, dict) else result).items()
        if key not in _LISTED
    }
    return Section(
        task_id=task_id,
        task_type=str(task.get("task_type", "")),
        status=str(task.get("status", "")),
        note=str(task.get("error") or ""),
        findings=[
            {
                "severity": f.severity,
                "rule": f.rule_id,
                "where": f"{f.file}:{f.line}" if f.file and f.line else f.file or f.target,
                "description": f.description,
                "remediation": f.remediation,
            }
            for f in findings_of(result)
        ],
        facts=facts,
    )


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


SKILL = Skill("report_generation", ReportParams, report, _no_scope)
