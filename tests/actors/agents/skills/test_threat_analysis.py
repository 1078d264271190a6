"""threat_analysis: findings mapped to STRIDE and ranked by likelihood x impact."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agents.skills import SKILLS
from actors.errors import InvalidParameter

from .test_vulnerability_scanning import SCOPES, _quiet

THREATS = SKILLS["threat_analysis"]
FINDINGS = [
    {"severity": "info", "description": "port 8080 open", "type": "open_port",
     "rule_id": "open-port", "target": "h:8080", "confidence": "high"},
    {"severity": "critical", "description": "Docker API", "type": "exposed_service",
     "rule_id": "exposed-docker", "target": "h:2375", "confidence": "high", "cwe": 306},
    {"severity": "high", "description": "env file", "rule_id": "exposed-env",
     "target": "http://h/.env", "confidence": "high", "cwe": 522},
    {"severity": "high", "description": "eval", "rule_id": "B307", "file": "app.py",
     "confidence": "low", "cwe": 78},
]  # fmt: skip


async def _run(data: dict[str, Any], tasks: dict[str, Any] | None = None) -> dict[str, Any]:
    async def read_task(task_id: str) -> dict[str, Any] | None:
        return (tasks or {}).get(task_id)

    return await THREATS({"data": data}, _quiet, SCOPES, read_task)


async def test_findings_are_ranked_by_risk_with_their_stride_category() -> None:
    result = await _run({"findings": FINDINGS})

    ranked = [(t["rule_id"], t["stride"], t["likelihood"], t["impact"], t["risk"], t["risk_level"])
              for t in result["threats"]]  # fmt: skip
    assert ranked == [
        ("exposed-docker", "elevation_of_privilege", 3, 5, 15, "critical"),
        ("exposed-env", "information_disclosure", 3, 4, 12, "critical"),
        ("B307", "tampering", 1, 4, 4, "medium"),  # in a file, found with low confidence
        ("open-port", "information_disclosure", 3, 1, 3, "low"),
    ]
    assert [t["rank"] for t in result["threats"]] == [1, 2, 3, 4]
    assert result["by_stride"] == {
        "elevation_of_privilege": 1, "information_disclosure": 2, "tampering": 1,
    }  # fmt: skip
    assert result["by_risk_level"] == {"critical": 2, "medium": 1, "low": 1}


async def test_findings_come_from_earlier_tasks_and_each_source_says_what_it_gave() -> None:
    tasks = {
        "task-scan": {"status": "completed", "result": {"findings": FINDINGS[:2]}},
        "task-running": {"status": "in_progress", "result": None},
    }
    result = await _run({"task_ids": ["task-scan", "task-running", "task-nope"]}, tasks)

    assert [t["source_task"] for t in result["threats"]] == ["task-scan", "task-scan"]
    assert result["sources"] == {
        "task-scan": "2 findings",
        "task-running": "no findings (in_progress)",
        "task-nope": "unknown task",
    }


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({}, "data"),
        ({"data": {}}, "data"),
        (
            {"data": {"findings": [{"severity": "dire", "description": "x"}]}},
            "data.findings[0].severity",
        ),
        ({"data": {"findings": []}, "threat_model": "dread"}, "threat_model"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        THREATS.validate(parameters, SCOPES)
    assert refused.value.name == name
