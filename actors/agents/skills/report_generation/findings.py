"""The findings in any task's result, in one shape, for reports and SARIF.

Skills report findings under their own keys and with their own fields: the scanner's
`findings` (rule_id, target, evidence), code_analysis's (file, line, message,
suggestion), threat_analysis's `threats` (risk_level), security_scan's
`vulnerabilities` and `informational`. `findings_of` reads each.
"""

from __future__ import annotations

from typing import Any

import msgspec

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class Found(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    severity: str
    description: str
    remediation: str = ""
    evidence: str = ""
    target: str = ""
    """A URL, host:port or host, when the finding is about a network target."""
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    column: int | None = None
    confidence: str | None = None
    cwe: int | None = None
    type: str | None = None
    risk: int = 0
    """threat_analysis's likelihood x impact: the order within a severity."""


def has_findings(result: Any) -> bool:
    """Whether `result` is of a kind that reports findings (even if it found none)."""
    return bool(_raw(result) is not None)


def findings_of(result: Any) -> list[Found]:
    """The findings of a result, worst first."""
    found = [_found(f) for f in _raw(result) or [] if isinstance(f, dict)]
    found.sort(key=lambda f: (SEVERITY_ORDER.get(f.severity, 5), -f.risk))
    return found


def _raw(result: Any) -> list[Any] | None:
    if not isinstance(result, dict):
        return None
    scan = result.get("security_scan")
    if isinstance(scan, dict):
        return [*scan.get("vulnerabilities", []), *scan.get("informational", [])]
    for key in ("findings", "threats"):
        if isinstance(result.get(key), list):
            return list(result[key])
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _found(raw: dict[str, Any]) -> Found:
    return Found(
        rule_id=_text(raw.get("rule_id")) or "finding",
        severity=_text(raw.get("severity") or raw.get("risk_level")) or "info",
        description=_text(raw.get("description") or raw.get("message")),
        remediation=_text(raw.get("remediation") or raw.get("suggestion")),
        evidence=_text(raw.get("evidence")),
        target=_text(raw.get("target")),
        file=raw.get("file") if isinstance(raw.get("file"), str) else None,
        line=_int(raw.get("line")),
        end_line=_int(raw.get("end_line")),
        column=_int(raw.get("column")),
        confidence=raw.get("confidence") if isinstance(raw.get("confidence"), str) else None,
        cwe=_int(raw.get("cwe")),
        type=_text(raw.get("type") or raw.get("stride") or raw.get("kind")) or None,
        risk=_int(raw.get("risk")) or 0,
    )
