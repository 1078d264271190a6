"""security_scan's result in the seed's shape, and its score.

    {"security_scan": {"vulnerabilities": [{severity, type, description, remediation,
     evidence, ...}], "security_score": 0-100, "recommendations": [...], ...}}

`vulnerabilities` are the findings of severity low and above, worst first; `info`
findings (an open port, a published e-mail address) are listed under `informational`.

`security_score` follows the HTTP Observatory for what it measures, then deducts for
what it does not:

* start from the Observatory score (observatory.py) of the worst web endpoint audited,
  capped at 100; with no web endpoint, from 100;
* deduct, per finding the Observatory did not score (ports, TLS, exposed paths,
  versions), counted once per rule at its worst severity: critical 40, high 20,
  medium 10, low 5, info 0 — the Observatory's own scale for its tests (-5 for a minor
  header problem, -20 and worse for missing protections);
* never below 0.

With the port scan failed there is nothing honest to score: the score is null, and
`parts` says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actors.agents.skills.composite import Outcome

if TYPE_CHECKING:
    from actors.agents.skills.security_scan import SecurityScanParams

SEVERITIES = ("critical", "high", "medium", "low", "info")
DEDUCTION = {"critical": 40, "high": 20, "medium": 10, "low": 5, "info": 0}
_RANK = {severity: n for n, severity in enumerate(SEVERITIES)}
_OBSERVATORY_TYPE = "http_header"
"""Findings that restate an Observatory test: already in its score."""
_MAX_RECOMMENDATIONS = 10


def merge(params: SecurityScanParams, outcomes: dict[str, Outcome]) -> dict[str, Any]:
    scan = _result(outcomes.get("security"))
    crawl = _result(outcomes.get("osint"))
    names = _result(outcomes.get("subdomains"))
    findings = [*(scan or {}).get("findings", []), *_crawl_findings(crawl)]
    findings.sort(key=lambda f: (_RANK[f["severity"]], f["rule_id"], f["target"]))
    score = None if scan is None else security_score(scan)
    return {
        "security_scan": {
            "target": params.target,
            "vulnerabilities": [_vulnerability(f) for f in findings if f["severity"] != "info"],
            "security_score": score["score"] if score else None,
            "score": score,
            "recommendations": _recommendations(findings),
            "informational": [_vulnerability(f) for f in findings if f["severity"] == "info"],
            "open_ports": (scan or {}).get("open_ports", []),
            "web": [
                {
                    "url": a["url"],
                    "observatory_score": a["observatory"]["score"],
                    "observatory_grade": a["observatory"]["grade"],
                    "server": a["server"],
                }
                for a in (scan or {}).get("http", [])
            ],
            "technologies": [
                {"name": t["name"], "version": t["version"]}
                for t in (crawl or {}).get("technologies", [])
            ],
            "subdomains": _subdomains(names) if names is not None else None,
            "parts": {
                name: {
                    "task_id": o.task_id,
                    "task_type": o.task_type,
                    "agent_id": o.agent_id,
                    "status": o.status,
                    "error": o.error,
                }
                for name, o in outcomes.items()
            },
        }
    }


def security_score(scan: dict[str, Any]) -> dict[str, Any]:
    """The score of a vulnerability_scanning result, with what made it."""
    audits = scan.get("http", [])
    worst = min(audits, key=lambda a: a["observatory"]["score"], default=None)
    base = min(worst["observatory"]["score"], 100) if worst else 100
    by_rule: dict[str, str] = {}
    for finding in scan.get("findings", []):
        if finding["type"] == _OBSERVATORY_TYPE:
            continue
        known = by_rule.get(finding["rule_id"])
        if known is None or _RANK[finding["severity"]] < _RANK[known]:
            by_rule[finding["rule_id"]] = finding["severity"]
    deductions: list[dict[str, Any]] = [
        {"rule_id": rule, "severity": severity, "points": DEDUCTION[severity]}
        for rule, severity in sorted(by_rule.items())
        if DEDUCTION[severity]
    ]
    return {
        "score": max(0, base - sum(d["points"] for d in deductions)),
        "observatory": (
            {
                "url": worst["url"],
                "score": worst["observatory"]["score"],
                "grade": worst["observatory"]["grade"],
            }
            if worst
            else None
        ),
        "deductions": deductions,
    }


def _result(outcome: Outcome | None) -> dict[str, Any] | None:
    return outcome.result if outcome is not None and outcome.status == "completed" else None


def _vulnerability(finding: dict[str, Any]) -> dict[str, Any]:
    keys = ("severity", "type", "description", "remediation", "evidence", "rule_id")
    return {
        **{key: finding[key] for key in keys},
        "confidence": finding.get("confidence"),
        "cwe": finding.get("cwe"),
        "target": finding["target"],
    }


def _recommendations(findings: list[dict[str, Any]]) -> list[str]:
    """Each distinct remediation once, for the worst finding that asks for it first."""
    seen: dict[str, None] = {}
    for finding in findings:
        if finding["severity"] != "info":
            seen.setdefault(finding["remediation"], None)
    return list(seen)[:_MAX_RECOMMENDATIONS]


def _crawl_findings(crawl: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not crawl or not crawl.get("emails"):
        return []
    emails = crawl["emails"]
    return [
        {
            "rule_id": "emails-published",
            "severity": "info",
            "confidence": "high",
            "type": "information_disclosure",
            "description": f"{len(emails)} e-mail address(es) published on the site",
            "remediation": "Publish a contact form or a role address instead of personal "
            "addresses, which feed phishing and spam lists.",
            "evidence": ", ".join(f"{e['email']} ({e['pages'][0]})" for e in emails[:5]),
            "target": crawl["target"],
            "cwe": 200,
        }
    ]


def _subdomains(collected: dict[str, Any]) -> list[str]:
    """Names under the target's domain seen in its DNS records and certificates."""
    domain = collected["target"].lower().rstrip(".")
    seen: set[str] = set()
    for records in collected.get("records", []):
        if records["type"] in ("CNAME", "MX", "NS"):
            seen.update(value.split()[-1].lower().rstrip(".") for value in records["values"])
    for certificate in collected.get("certificates", []):
        seen.update(name.lower().lstrip("*.").rstrip(".") for name in certificate["names"])
    return sorted(name for name in seen if name.endswith("." + domain))
