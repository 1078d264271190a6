"""radon's cyclomatic complexity and maintainability index over an already parsed tree.

The figures are radon's own: `cc_visit` is ComplexityVisitor over the tree, and `mi_visit`
(with multi-line strings counted as comments, as `radon mi` does by default) is
mi_compute over the Halstead volume of the tree, its total complexity and radon.raw's
line counts (lines.py); only the parse and the tokens are shared.
"""

from __future__ import annotations

import ast
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass

from radon.complexity import cc_rank
from radon.metrics import h_visit_ast, mi_compute, mi_rank
from radon.visitors import ComplexityVisitor, Function

from actors.agents.skills.code_analysis import suggestions
from actors.agents.skills.code_analysis.lines import raw_counts
from actors.agents.skills.code_analysis.params import FileMetrics, Finding, Level

RANKS = "ABCDEF"

_CC_SEVERITY: dict[str, Level] = {
    "A": "low",
    "B": "low",
    "C": "low",
    "D": "medium",
    "E": "high",
    "F": "high",
}
_MI_SEVERITY: dict[str, Level] = {"B": "low", "C": "medium"}


@dataclass(frozen=True)
class Measured:
    metrics: FileMetrics
    complexities: list[int]
    findings: list[Finding]


def measure(
    relative: str,
    text: str,
    tree: ast.Module,
    tokens: Sequence[tokenize.TokenInfo] | None,
    worst_rank: str,
) -> Measured:
    """The file's metrics; functions ranked `worst_rank` or worse and a maintainability
    rank below A are findings. `tokens`: the file's, if tokenize could read it."""
    visitor = ComplexityVisitor.from_ast(tree)
    functions: list[Function] = [b for b in visitor.blocks if isinstance(b, Function)]
    threshold = RANKS.index(worst_rank)
    findings = [
        _complexity_finding(relative, function, rank)
        for function in functions
        if RANKS.index(rank := cc_rank(function.complexity)) >= threshold
    ]
    complexities = [f.complexity for f in functions]
    maintainability, letter, (sloc, comments) = _maintainability(text, tree, tokens, visitor)
    lines = text.count("\n") + (not text.endswith("\n") and bool(text))
    if maintainability is not None and letter in _MI_SEVERITY:
        findings.append(_maintainability_finding(relative, maintainability, letter, lines))
    metrics = FileMetrics(
        file=relative,
        lines=lines,
        sloc=sloc,
        comments=comments,
        functions=len(functions),
        average_complexity=round(sum(complexities) / len(complexities), 2) if functions else 0.0,
        max_complexity=max(complexities, default=0),
        maintainability=maintainability,
        maintainability_rank=letter,
    )
    return Measured(metrics, complexities, findings)


def _complexity_finding(relative: str, function: Function, rank: str) -> Finding:
    name = f"{function.classname}.{function.name}" if function.is_method else function.name
    return Finding(
        kind="complexity",
        rule_id="CC",
        rule="cyclomatic_complexity",
        file=relative,
        line=function.lineno,
        end_line=function.endline,
        column=function.col_offset,
        severity=_CC_SEVERITY[rank],
        confidence="high",
        message=f"{name} has cyclomatic complexity {function.complexity} (rank {rank})",
        suggestion=suggestions.complexity(name, function.complexity, rank),
        score=float(function.complexity),
    )


def _maintainability_finding(relative: str, score: float, rank: str, lines: int) -> Finding:
    return Finding(
        kind="maintainability",
        rule_id="MI",
        rule="maintainability_index",
        file=relative,
        line=1,
        end_line=max(lines, 1),
        column=0,
        severity=_MI_SEVERITY[rank],
        confidence="high",
        message=f"maintainability index {score:.1f} (rank {rank})",
        suggestion=suggestions.maintainability(score, rank),
        score=score,
    )


def _maintainability(
    text: str,
    tree: ast.Module,
    tokens: Sequence[tokenize.TokenInfo] | None,
    visitor: ComplexityVisitor,
) -> tuple[float | None, str | None, tuple[int, int]]:
    """(index rounded to 2 places, its rank, (sloc, comments)); no index when radon.raw
    cannot tokenize what ast parsed."""
    try:
        raw = raw_counts(text, tokens)
    except (SyntaxError, ValueError):
        return None, None, (0, 0)
    comment_lines = raw.comments + raw.multi
    comments = comment_lines / float(raw.sloc) * 100 if raw.sloc != 0 else 0
    score: float = mi_compute(
        h_visit_ast(tree).total.volume, visitor.total_complexity, raw.lloc, comments
    )
    return round(score, 2), mi_rank(score), (raw.sloc, raw.comments)
