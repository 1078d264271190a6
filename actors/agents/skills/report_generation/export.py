"""One task's results in the formats tools read: SARIF 2.1.0 for findings, Markdown.

The edge serves JSON itself; it asks for these through its port (api/port.py), since
the renderers live here, beside the report skill that uses them too.
"""

from __future__ import annotations

import json
from typing import Any

from actors.agents.skills.report_generation import section
from actors.agents.skills.report_generation.findings import has_findings
from actors.agents.skills.report_generation.render import render
from actors.agents.skills.report_generation.sarif import sarif_log
from actors.errors import InvalidParameter

SARIF_MEDIA_TYPE = "application/sarif+json"
MARKDOWN_MEDIA_TYPE = "text/markdown; charset=utf-8"


def export(task: dict[str, Any], form: str, tool_version: str) -> tuple[str, str]:
    """(media type, body) of `task`'s results as `form` (sarif or markdown)."""
    if form == "sarif":
        if not has_findings(task.get("result")):
            raise InvalidParameter(
                "format",
                f"a {task.get('task_type')} result has no findings to put in SARIF;"
                " json and markdown have all of it",
            )
        return SARIF_MEDIA_TYPE, json.dumps(sarif_log(task, tool_version), ensure_ascii=False)
    if form == "markdown":
        title = f"{task.get('task_type')} {task.get('task_id')}"
        return MARKDOWN_MEDIA_TYPE, render("markdown", title, [section(task["task_id"], task)])
    raise InvalidParameter("format", f"unknown format {form!r}: json, sarif or markdown")
