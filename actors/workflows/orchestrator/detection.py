"""Layer 1, `detection_analysis`: what is wrong with the code, found by the agents.

`target_components` choose the checks: `security` (bandit, through the analysis agent's
code_analysis), `performance` (radon's complexity hot spots, same task), `code_quality`
(radon's maintainability index, same task, and ruff's lint findings, some of which ruff
fixes itself) and `documentation` (docstring coverage of modules, classes and functions,
counted here from the syntax tree). Each finding gets a
stable id (`F1`, `F2` ...) in severity order, which later layers refer to.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import msgspec

from actors.workflows import lint
from actors.workflows.steps import StepContext

COMPONENTS = ("code_quality", "security", "performance", "documentation")
_BY_KIND = {"security": "security", "complexity": "performance", "maintainability": "code_quality"}
_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class Found(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    """The check that reports it: security, complexity, maintainability, lint, docstring."""
    component: str
    rule_id: str
    severity: str
    confidence: str
    file: str
    line: int
    message: str
    suggestion: str
    fixable: bool = False
    """Its linter fixes it on its own."""


class DetectOutput(msgspec.Struct, frozen=True, kw_only=True):
    repository: str
    components: list[str]
    findings: list[Found]
    metrics: dict[str, Any]
    task_ids: list[str]


async def detect(context: StepContext, params: Any) -> DetectOutput:
    root = context.scopes.code.resolve("repository", params.repository or ".")
    components = params.components()
    findings: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    task_ids: list[str] = []
    if {"security", "performance", "code_quality"} & set(components):
        [task] = await context.tasks([("code_analysis", {"path": str(root)})])
        task_ids.append(task["task_id"])
        if task["status"] != "completed":
            raise RuntimeError(f"code_analysis {task['status']}: {task.get('error')}")
        result = task["result"]
        metrics["code_analysis"] = result.get("summary", {})
        for finding in result.get("findings", []):
            component = _BY_KIND.get(finding["kind"], "code_quality")
            if component in components:
                findings.append({**finding, "component": component})
    if "code_quality" in components:
        for finding in await lint.lint(root):
            findings.append({**msgspec.to_builtins(finding), "component": "code_quality"})
    if "documentation" in components:
        coverage, missing = _docstrings(root)
        metrics["documentation"] = coverage
        findings += missing
    findings.sort(key=lambda f: (_ORDER.get(f["severity"], 5), f["file"], f["line"]))
    limit = params.max_findings
    await context.log("info", f"{len(findings)} findings in {root.name or root}")
    return DetectOutput(
        repository=str(root),
        components=components,
        findings=[
            Found(
                id=f"F{n}",
                kind=f["kind"],
                component=f["component"],
                rule_id=f["rule_id"],
                severity=f["severity"],
                confidence=f.get("confidence", "high"),
                file=f["file"],
                line=f["line"],
                message=f.get("message", ""),
                suggestion=f.get("suggestion", ""),
                fixable=bool(f.get("fixable", False)),
            )
            for n, f in enumerate(findings[:limit], 1)
        ],
        metrics={**metrics, "findings": len(findings), "findings_kept": min(len(findings), limit)},
        task_ids=task_ids,
    )


def _docstrings(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Docstring coverage of public modules, classes and functions; a finding for each
    public class or function without one."""
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    total = documented = 0
    missing: list[dict[str, Any]] = []
    for path in files:
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue
        relative = path.name if root.is_file() else str(path.relative_to(root))
        nodes: list[ast.AST] = [tree]
        nodes += [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not n.name.startswith("_")
        ]
        for node in nodes:
            total += 1
            if ast.get_docstring(node) is not None:  # type: ignore[arg-type]
                documented += 1
            elif not isinstance(node, ast.Module):
                name = getattr(node, "name", "")
                missing.append(
                    {
                        "kind": "docstring",
                        "component": "documentation",
                        "rule_id": "missing-docstring",
                        "severity": "low",
                        "confidence": "high",
                        "file": relative,
                        "line": getattr(node, "lineno", 1),
                        "message": f"{name} has no docstring",
                        "suggestion": f"Say in a docstring what {name} is for.",
                    }
                )
    coverage = {
        "documented": documented,
        "total": total,
        "coverage": round(documented / total, 4) if total else None,
    }
    return coverage, missing
