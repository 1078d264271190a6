"""`threat_analysis`: findings (given, or from earlier tasks' results) mapped to a CWE
and a STRIDE category, scored likelihood x impact, and ranked.

The maps below are ours, documented here rather than borrowed: STRIDE by the finding's
CWE (else by its type), impact by its severity (info 1 .. critical 5) and likelihood by
the confidence of the check that found it and whether the target faces a network
(network 3, file 2 as the base, then high confidence +0, medium -1, low -2; at least 1).
Risk = likelihood x impact (1-15): 12+ critical, 8+ high, 4+ medium, else low.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.base import Context, Progress, Skill
from actors.errors import InvalidParameter

Stride = Literal[
    "spoofing",
    "tampering",
    "repudiation",
    "information_disclosure",
    "denial_of_service",
    "elevation_of_privilege",
]
_BY_CWE: dict[int, Stride] = {
    287: "spoofing", 290: "spoofing", 295: "spoofing", 297: "spoofing", 798: "spoofing",
    20: "tampering", 78: "tampering", 79: "tampering", 89: "tampering", 94: "tampering",
    502: "tampering", 693: "tampering", 1021: "tampering",
    117: "repudiation", 778: "repudiation",
    200: "information_disclosure", 209: "information_disclosure",
    319: "information_disclosure", 327: "information_disclosure",
    522: "information_disclosure", 532: "information_disclosure",
    538: "information_disclosure", 548: "information_disclosure",
    259: "information_disclosure", 298: "spoofing",
    400: "denial_of_service", 770: "denial_of_service", 1333: "denial_of_service",
    22: "elevation_of_privilege", 250: "elevation_of_privilege", 269: "elevation_of_privilege",
    306: "elevation_of_privilege", 668: "elevation_of_privilege", 1104: "elevation_of_privilege",
}  # fmt: skip
_BY_TYPE: dict[str, Stride] = {
    "exposed_service": "elevation_of_privilege",
    "open_port": "information_disclosure",
    "exposed_path": "information_disclosure",
    "information_disclosure": "information_disclosure",
    "http_header": "tampering",
    "tls": "spoofing",
    "outdated_software": "elevation_of_privilege",
    "known_vulnerability": "elevation_of_privilege",
}
_IMPACT = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
_CONFIDENCE = {"high": 0, "medium": -1, "low": -2}
_MAX_FINDINGS = 10_000


class FindingIn(msgspec.Struct, frozen=True, kw_only=True):
    """A finding as the agents report it; only severity and description are required."""

    severity: Literal["info", "low", "medium", "high", "critical"]
    description: Annotated[str, msgspec.Meta(max_length=10_000)]
    rule_id: str = ""
    type: str = ""
    confidence: Literal["low", "medium", "high"] = "medium"
    cwe: int | None = None
    target: str = ""
    file: str | None = None
    remediation: str = ""


class ThreatData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    findings: Annotated[list[FindingIn], msgspec.Meta(max_length=_MAX_FINDINGS)] = []
    task_ids: Annotated[list[str], msgspec.Meta(max_length=100)] = []


class ThreatParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    data: ThreatData
    threat_model: Literal["stride"] = "stride"


class Threat(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    rule_id: str
    description: str
    target: str
    cwe: int | None
    stride: Stride | None
    likelihood: int
    impact: int
    risk: int
    risk_level: Literal["low", "medium", "high", "critical"]
    remediation: str
    source_task: str | None


class ThreatResult(msgspec.Struct, frozen=True, kw_only=True):
    threat_model: str
    threats: list[Threat]
    by_stride: dict[str, int]
    by_risk_level: dict[str, int]
    sources: dict[str, str]
    """Each task asked for, and what came of it: used, or why not."""


def _check(params: ThreatParams, scopes: Scopes) -> None:
    if not params.data.findings and not params.data.task_ids:
        raise InvalidParameter("data", "give findings, or task_ids of earlier scans")


async def analyse(params: ThreatParams, progress: Progress, context: Context) -> dict[str, Any]:
    gathered: list[tuple[FindingIn, str | None]] = [(f, None) for f in params.data.findings]
    sources: dict[str, str] = {}
    for task_id in dict.fromkeys(params.data.task_ids):
        task = await context.read_task(task_id)
        if task is None:
            sources[task_id] = "unknown task"
            continue
        result = task.get("result") or {}
        found = result.get("findings") if isinstance(result, dict) else None
        if task.get("status") != "completed" or not isinstance(found, list):
            sources[task_id] = f"no findings ({task.get('status')})"
            continue
        try:
            converted = msgspec.convert(found, list[FindingIn], strict=False)
        except msgspec.ValidationError as e:
            sources[task_id] = f"findings not read: {e}"
            continue
        gathered += [(f, task_id) for f in converted]
        sources[task_id] = f"{len(converted)} findings"
    await progress(50, f"{len(gathered)} findings to rank")
    threats = sorted(
        (_threat(f, source) for f, source in gathered),
        key=lambda t: (-t.risk, -t.impact, t.rule_id, t.target),
    )
    ranked = [msgspec.structs.replace(t, rank=i) for i, t in enumerate(threats, 1)]
    result = ThreatResult(
        threat_model=params.threat_model,
        threats=ranked,
        by_stride=dict(Counter(t.stride or "unclassified" for t in ranked)),
        by_risk_level=dict(Counter(t.risk_level for t in ranked)),
        sources=sources,
    )
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


def _threat(finding: FindingIn, source: str | None) -> Threat:
    stride = _BY_CWE.get(finding.cwe) if finding.cwe is not None else None
    stride = stride or _BY_TYPE.get(finding.type)
    impact = _IMPACT[finding.severity]
    exposure = 2 if finding.file else 3
    likelihood = max(1, exposure + _CONFIDENCE[finding.confidence])
    risk = likelihood * impact
    level: Literal["low", "medium", "high", "critical"] = (
        "critical" if risk >= 12 else "high" if risk >= 8 else "medium" if risk >= 4 else "low"
    )
    return Threat(
        rank=0,
        rule_id=finding.rule_id,
        description=finding.description,
        target=finding.file or finding.target,
        cwe=finding.cwe,
        stride=stride,
        likelihood=likelihood,
        impact=impact,
        risk=risk,
        risk_level=level,
        remediation=finding.remediation,
        source_task=source,
    )


SKILL = Skill("threat_analysis", ThreatParams, analyse, _check)
