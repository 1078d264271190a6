"""The reporting agent: reports from earlier tasks (hostile content escaped), summaries."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agents.skills import SKILLS
from actors.agents.skills.summarization import extract
from actors.errors import InvalidParameter

from .test_vulnerability_scanning import SCOPES, _quiet

HOSTILE = '<script>alert("x")</script>'
TASKS: dict[str, dict[str, Any]] = {
    "task-scan": {
        "task_type": "vulnerability_scanning",
        "status": "completed",
        "result": {
            "target": "127.0.0.1",
            "ports_scanned": 100,
            "findings": [
                {"severity": "low", "rule_id": "open-port", "target": "127.0.0.1:80",
                 "description": f"banner {HOSTILE} | col", "remediation": "close it"},
                {"severity": "critical", "rule_id": "exposed-docker", "target": "127.0.0.1:2375",
                 "description": "Docker API", "remediation": "firewall it"},
            ],
        },
    },
    "task-failed": {"task_type": "echo", "status": "failed", "result": None, "error": "boom"},
}  # fmt: skip


async def _run(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    async def read_task(task_id: str) -> dict[str, Any] | None:
        return TASKS.get(task_id)

    return await SKILLS[name](parameters, _quiet, SCOPES, read_task)


async def test_an_html_report_escapes_what_it_quotes_and_puts_the_worst_first() -> None:
    result = await _run(
        "report_generation",
        {"task_ids": ["task-scan", "task-failed", "task-nope"], "format": "html"},
    )
    html = result["content"]
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert "default-src 'none'" in html  # the report's own CSP
    assert html.index("exposed-docker") < html.index("open-port")
    assert "boom" in html and "no such task" in html
    assert (result["tasks"], result["findings"]) == (3, 2)


async def test_a_markdown_report_keeps_quoted_text_from_breaking_its_tables() -> None:
    result = await _run("report_generation", {"task_ids": ["task-scan"]})
    markdown = result["content"]
    [row] = [line for line in markdown.splitlines() if "open-port" in line]
    assert row.count(" | ") == 4  # the quoted '|' is escaped, not a column
    assert "\\<script\\>" in row
    assert "- **ports\\_scanned**: 100" in markdown


async def test_a_json_report_is_structured() -> None:
    result = await _run("report_generation", {"task_ids": ["task-scan"], "format": "json"})
    [section] = result["content"]["sections"]
    assert [f["rule"] for f in section["findings"]] == ["exposed-docker", "open-port"]


def test_the_summary_keeps_the_sentences_about_what_the_text_is_about_in_order() -> None:
    text = (
        "The scanner found an exposed Docker API on the host. "
        "Lunch was good. "
        "The Docker API lets anyone on the network run containers on the host. "
        "It rained. "
        "Close the Docker API port or put TLS and authentication in front of the API."
    )
    chosen, total = extract(text, 3)
    assert total == 5
    assert chosen == [  # the asides go; the three about the Docker API stay, in order
        "The scanner found an exposed Docker API on the host.",
        "The Docker API lets anyone on the network run containers on the host.",
        "Close the Docker API port or put TLS and authentication in front of the API.",
    ]


async def test_a_summary_of_task_results_reads_their_text() -> None:
    result = await _run("summarization", {"task_ids": ["task-scan"], "sentences": 1})
    assert result["sentences_in"] >= 2 and len(result["sentences"]) == 1


@pytest.mark.parametrize(
    ("name", "parameters", "parameter"),
    [
        ("report_generation", {"task_ids": []}, "task_ids"),
        ("report_generation", {"task_ids": ["t"], "format": "pdf"}, "format"),
        ("summarization", {}, "text"),
        ("summarization", {"text": "x", "sentences": 0}, "sentences"),
    ],
)
def test_bad_parameters_name_the_parameter(
    name: str, parameters: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidParameter) as refused:
        SKILLS[name].validate(parameters, SCOPES)
    assert refused.value.name == parameter
