"""A report's sections as Markdown or as HTML (Jinja2, autoescaped)."""

from __future__ import annotations

from typing import Any

import jinja2
import msgspec


class Section(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str
    task_type: str
    status: str
    note: str = ""
    findings: list[dict[str, str]] = []
    facts: dict[str, Any] = {}


_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{ title }}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head>
<body><h1>{{ title }}</h1>
{% for s in sections %}<section><h2>{{ s.task_type or "task" }} <code>{{ s.task_id }}</code></h2>
<p>Status: <strong>{{ s.status }}</strong>{% if s.note %}: {{ s.note }}{% endif %}</p>
{% if s.findings %}<table><tr><th>Severity</th><th>Rule</th><th>Where</th><th>What</th>
<th>Remediation</th></tr>
{% for f in s.findings %}<tr><td>{{ f.severity }}</td><td>{{ f.rule }}</td><td>{{ f.where }}</td>
<td>{{ f.description }}</td><td>{{ f.remediation }}</td></tr>
{% endfor %}</table>{% endif %}
{% if s.facts %}<dl>{% for k, v in s.facts.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>
{% endfor %}</dl>{% endif %}</section>
{% endfor %}</body></html>
"""
)


def render(form: str, title: str, sections: list[Section]) -> str:
    if form == "html":
        return _HTML.render(title=title, sections=sections)
    lines = [f"# {_md(title)}", ""]
    for s in sections:
        lines += [f"## {_md(s.task_type or 'task')} `{s.task_id}`", ""]
        lines += [f"Status: **{_md(s.status)}**" + (f": {_md(s.note)}" if s.note else ""), ""]
        if s.findings:
            lines += ["| Severity | Rule | Where | What | Remediation |", "|---|---|---|---|---|"]
            lines += [
                "| " + " | ".join(_cell(f[k]) for k in ("severity", "rule", "where",
                                                       "description", "remediation")) + " |"
                for f in s.findings
            ]  # fmt: skip
            lines.append("")
        lines += [f"- **{_md(k)}**: {_md(str(v))}" for k, v in s.facts.items()]
        lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    """Quoted text as literal Markdown: its markup characters escaped, one line."""
    escaped = "".join("\\" + c if c in "\\`*_{}[]()#+!|<>" else c for c in text)
    return " ".join(escaped.split())


def _cell(text: str) -> str:
    return _md(text)[:500]
