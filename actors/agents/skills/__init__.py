"""What agents can actually do: one Skill per task type (see base.py).

A skill runs on the node's event loop. Its parameters are checked at submit (400 for a
bad one, 403 for a target outside the scope) and again when it runs; raising fails the
task with the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.agents.scope import Scopes
from actors.agents.skills import (
    code_analysis,
    data_analysis,
    data_collection,
    echo,
    file_analysis,
    pattern_analysis,
    report_generation,
    security_scan,
    summarization,
    threat_analysis,
    vulnerability_scanning,
    web_scraping,
)
from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.composite import Composite

SKILLS: dict[str, Skill[Any]] = {
    skill.name: skill
    for skill in (
        echo.SKILL,
        vulnerability_scanning.SKILL,
        threat_analysis.SKILL,
        web_scraping.SKILL,
        data_collection.SKILL,
        pattern_analysis.SKILL,
        code_analysis.SKILL,
        data_analysis.SKILL,
        file_analysis.SKILL,
        report_generation.SKILL,
        summarization.SKILL,
    )
}


COMPOSITES: dict[str, Composite[Any]] = {
    composite.name: composite for composite in (security_scan.COMPOSITE,)
}
"""Task types no agent runs itself: their parts are other task types (composite.py)."""


def validators(scopes: Scopes) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Per task type, the check the task manager runs at submit."""

    def check(skill: Skill[Any] | Composite[Any]) -> Callable[[dict[str, Any]], None]:
        def validate(parameters: dict[str, Any]) -> None:
            skill.validate(parameters, scopes)

        return validate

    checks = {name: check(skill) for name, skill in SKILLS.items()}
    checks.update((name, check(composite)) for name, composite in COMPOSITES.items())
    return checks


__all__ = ["COMPOSITES", "SKILLS", "Composite", "Context", "Progress", "Skill", "validators"]
