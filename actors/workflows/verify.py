"""Whether a fix removed a finding: the check that reported it, run again on its file in
the worktree.

A finding is its rule and its file (its line may move): bandit's rules (B602, B105 ...)
run through code_analysis's SecurityScanner, radon's CC and MI through its `measure`,
ruff's rules through lint.reported. The answer is conservative, never a false "fixed":

* a file that is gone or no longer parses proves nothing, so the finding is not gone;
* a suppression is not a fix: `# nosec` and `# noqa` comments are ignored here, so a
  second, suppressed instance of the rule in the same file keeps the finding;
* for CC, the finding is its function (by name): another complex function does not count.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.agents.skills.code_analysis.analysis import MAX_FILE_BYTES, _tokens
from actors.agents.skills.code_analysis.complexity import RANKS, measure
from actors.agents.skills.code_analysis.security import SecurityScanner
from actors.agents.skills.paths import open_regular
from actors.errors import InvalidParameter
from actors.workflows import lint
from actors.workflows.gitops import file_in

_KINDS = frozenset({"lint", "security", "complexity", "maintainability"})
_FUNCTION = re.compile(r"(\S+) has cyclomatic complexity ")
"""The function's name in a CC finding's message (code_analysis/complexity.py)."""


@dataclass(frozen=True)
class _Source:
    data: bytes
    text: str
    tree: ast.Module


async def finding_gone(
    tree: Path, finding: Mapping[str, Any], *, complexity_rank: str = "C"
) -> bool:
    """Whether `finding` (a code_analysis or lint finding, as a dict, its `file` relative to
    the worktree `tree`) is no longer reported there. `complexity_rank` is the rank from
    which a function is a CC finding, as in the analysis that reported it."""
    kind, rule, file = (finding.get(key) for key in ("kind", "rule_id", "file"))
    if not (isinstance(kind, str) and isinstance(rule, str) and isinstance(file, str)):
        raise InvalidParameter("finding", "needs a kind, a rule_id and a file")
    if kind not in _KINDS:
        raise InvalidParameter("finding", f"no check re-runs a finding of kind {kind!r}")
    if complexity_rank not in tuple(RANKS):
        raise InvalidParameter("complexity_rank", f"{complexity_rank!r} is not one of {RANKS}")
    path = file_in(tree, file)
    source = await asyncio.to_thread(_read, path, file)
    if source is None:
        return False
    match kind:
        case "lint":
            return rule == "invalid-syntax" or not await lint.reported(tree, path, rule)
        case "security":
            return await asyncio.to_thread(_bandit_gone, path, file, source, rule)
        case _:
            name = _FUNCTION.match(str(finding.get("message", "")))
            function = name.group(1) if kind == "complexity" and name else None
            return await asyncio.to_thread(
                _radon_gone, file, source, rule, complexity_rank, function
            )


def _read(path: Path, file: str) -> _Source | None:
    """The file, if it still is a regular Python file that parses."""
    try:
        with open_regular(path) as opened:
            data = opened.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    try:
        return _Source(data, importlib.util.decode_source(data), ast.parse(data, filename=file))
    except (SyntaxError, ValueError):
        return None


def _bandit_gone(path: Path, file: str, source: _Source, rule: str) -> bool:
    scanner = SecurityScanner((), "low", "low")
    # No tokens: bandit then reads no `# nosec` comment, as when tokenize fails.
    found = scanner.scan(str(path), file, source.data, source.tree, None)
    return all(f.rule_id != rule for f in found)


def _radon_gone(
    file: str, source: _Source, rule: str, worst_rank: str, function: str | None
) -> bool:
    measured = measure(file, source.text, source.tree, _tokens(source.data), worst_rank)
    return not any(
        f.rule_id == rule and (function is None or f.message.startswith(f"{function} has "))
        for f in measured.findings
    )
