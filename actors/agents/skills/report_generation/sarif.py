"""A task's findings as a SARIF 2.1.0 log (OASIS), the format code-scanning tools read.

One run per task: the rules seen (each with its remediation as help, its CWE as a tag
and GitHub's `security-severity`), one result per finding located in a file (code
analysis: line and column) or at a URL (artifactLocation with the URL), else by a
logical location naming the host and port. Severity maps to SARIF's level: critical
and high are `error`, medium `warning`, low and info `note`.
"""

from __future__ import annotations

from typing import Any

from actors.agents.skills.report_generation.findings import Found, findings_of

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
"""GitHub code scanning's bands: critical >= 9.0, high 7.0-8.9, medium 4.0-6.9, low < 4."""


def sarif_log(task: dict[str, Any], tool_version: str) -> dict[str, Any]:
    found = findings_of(task.get("result"))
    rules: dict[str, int] = {}
    descriptors: list[dict[str, Any]] = []
    results = []
    for finding in found:
        if finding.rule_id not in rules:
            rules[finding.rule_id] = len(descriptors)
            descriptors.append(_rule(finding))
        results.append(_result(finding, rules[finding.rule_id]))
    invocation: dict[str, Any] = {"executionSuccessful": task.get("status") == "completed"}
    if task.get("completed_at"):
        invocation["endTimeUtc"] = task["completed_at"]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "AMAS",
                        "fullName": f"AMAS {task.get('task_type', '')}".strip(),
                        "version": tool_version,
                        "rules": descriptors,
                    }
                },
                "automationDetails": {"id": f"{task.get('task_type')}/{task.get('task_id')}"},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def _rule(finding: Found) -> dict[str, Any]:
    tags = ["security"]
    if finding.cwe is not None:
        tags.append(f"external/cwe/cwe-{finding.cwe}")
    properties: dict[str, Any] = {"tags": tags}
    if finding.severity in _SECURITY_SEVERITY:
        properties["security-severity"] = _SECURITY_SEVERITY[finding.severity]
    if finding.confidence in ("low", "medium", "high"):
        properties["precision"] = finding.confidence
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "shortDescription": {"text": finding.description or finding.rule_id},
        "defaultConfiguration": {"level": _LEVEL.get(finding.severity, "note")},
        "properties": properties,
    }
    if finding.remediation:
        rule["help"] = {"text": finding.remediation}
    return rule


def _result(finding: Found, index: int) -> dict[str, Any]:
    text = finding.description or finding.rule_id
    if finding.evidence:
        text += f" (evidence: {finding.evidence})"
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": _LEVEL.get(finding.severity, "note"),
        "message": {"text": text},
        "properties": {
            key: value
            for key, value in (
                ("severity", finding.severity),
                ("confidence", finding.confidence),
                ("type", finding.type),
            )
            if value is not None
        },
    }
    location = _location(finding)
    if location is not None:
        result["locations"] = [location]
    return result


def _location(finding: Found) -> dict[str, Any] | None:
    if finding.file:
        region: dict[str, Any] = {}
        if finding.line:
            region["startLine"] = finding.line
            if finding.end_line and finding.end_line >= finding.line:
                region["endLine"] = finding.end_line
            if finding.column is not None:
                region["startColumn"] = finding.column + 1  # SARIF counts from 1, ast from 0
        physical: dict[str, Any] = {
            "artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"}
        }
        if region:
            physical["region"] = region
        return {"physicalLocation": physical}
    if "://" in finding.target:
        return {"physicalLocation": {"artifactLocation": {"uri": finding.target}}}
    if finding.target:
        return {"logicalLocations": [{"name": finding.target, "kind": "resource"}]}
    return None
