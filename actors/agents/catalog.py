"""The agents a node runs: who they are, what they can do, how they are configured."""

from __future__ import annotations

from typing import Any

import msgspec

from actors.agents.skills import SKILLS
from events.vocabulary import Priority


class AgentSpec(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: str
    agent_type: str
    name: str
    description: str
    capabilities: dict[str, dict[str, Any]]
    """What the agent is for, as the API shows it (seed: name -> description, parameters)."""
    task_types: tuple[str, ...]
    """The task types this agent runs now; each is a skill in actors/agents/skills."""
    timeout: float = 300.0
    max_concurrent_tasks: int = 5
    priority: Priority = Priority.NORMAL
    slowdown: float = 1.0
    """A test setting (AMAS_AGENT_SLOWDOWN): the agent takes this many times as long."""


def _cap(description: str, *parameters: str) -> dict[str, Any]:
    return {"description": description, "parameters": list(parameters)}


_OSINT = {
    "web_scraping": _cap(
        "Crawl a site inside the scan scope politely (robots.txt, delay, stops on 429):"
        " titles, links, e-mails, phone numbers, technologies",
        "target",
        "depth",
        "max_pages",
        "delay",
        "concurrency",
        "respect_robots",
    ),
    "data_collection": _cap(
        "DNS records and TLS certificate names of a name in scope",
        "target",
        "record_types",
        "tls_ports",
    ),
    "pattern_analysis": _cap(
        "Entities across collected data: emails by domain, phones, shared hosts and certificates",
        "task_ids",
        "data",
        "domain",
    ),
}
_SECURITY = {
    "vulnerability_scanning": _cap(
        "Scan a host inside the scan scope: open TCP ports, banners, exposed services",
        "target",
        "scan_type",
        "depth",
        "ports",
    ),
    "threat_analysis": _cap("Analyze potential threats", "data", "threat_model"),
}
_ANALYSIS = {
    "code_analysis": _cap(
        "Security findings (bandit), complexity and maintainability (radon) of Python code",
        "path",
        "exclude",
        "min_severity",
        "min_confidence",
        "skip",
        "complexity_rank",
        "max_files",
        "max_findings",
    ),
    "data_analysis": _cap(
        "Statistics and anomalies (z-score or IQR) in records or a CSV file",
        "data",
        "path",
        "fields",
        "method",
        "threshold",
        "delimiter",
        "max_rows",
        "max_anomalies",
    ),
    "file_analysis": _cap(
        "Hashes, type, entropy and strings of a file",
        "path",
        "max_bytes",
        "min_string_length",
        "max_strings",
    ),
}
_REPORTING = {
    "report_generation": _cap(
        "Assemble other tasks' results into a report", "task_ids", "format", "title"
    ),
    "summarization": _cap("Summarize text and results", "text", "task_ids", "sentences"),
}


def _task_types(capabilities: dict[str, Any]) -> tuple[str, ...]:
    """`echo` (the diagnostic task every agent answers) and each capability with a skill."""
    return ("echo", *(name for name in capabilities if name in SKILLS))


def default_agents() -> list[AgentSpec]:
    """Eight agents: two of each type, the second of each a little more patient.

    The first of each type has the seed's id (`security-agent`, `osint-agent`, ...).
    """
    specs = []
    for agent_type, title, description, capabilities, priority in (
        ("osint", "OSINT Agent", "Open-source intelligence collection", _OSINT, "normal"),
        (
            "security",
            "Security Expert Agent",
            "Specialized in security analysis and vulnerability assessment",
            _SECURITY,
            "high",
        ),
        ("analysis", "Code Analysis Agent", "Code and data analysis", _ANALYSIS, "normal"),
        ("reporting", "Reporting Agent", "Reports and summaries", _REPORTING, "low"),
    ):
        for n in (1, 2):
            specs.append(
                AgentSpec(
                    agent_id=f"{agent_type}-agent" if n == 1 else f"{agent_type}-agent-{n}",
                    agent_type=agent_type,
                    name=f"{title} {n}",
                    description=description,
                    capabilities=capabilities,
                    task_types=_task_types(capabilities),
                    timeout=300.0 if n == 1 else 600.0,
                    max_concurrent_tasks=5,
                    priority=Priority(priority),
                )
            )
    return specs
