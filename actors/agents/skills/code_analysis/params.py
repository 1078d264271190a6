"""What `code_analysis` takes and what it answers."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Level = Literal["low", "medium", "high"]
Rank = Literal["A", "B", "C", "D", "E", "F"]
Kind = Literal["security", "complexity", "maintainability"]

LEVELS: dict[str, int] = {"low": 1, "medium": 2, "high": 3}

ALWAYS_EXCLUDED = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    "CVS",
    "__pycache__",
    ".tox",
    ".nox",
    ".eggs",
    "*.egg",
    ".venv",
    "venv",
    "node_modules",
)
"""bandit's own default exclusions, plus virtual environments and node_modules."""

_Glob = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
_RuleId = Annotated[str, msgspec.Meta(pattern=r"^B\d{3}$")]


class CodeAnalysisParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    """A folder (searched for *.py) or one Python file, inside AMAS_CODE_SCOPE."""
    exclude: Annotated[tuple[_Glob, ...], msgspec.Meta(max_length=100)] = ()
    """Globs on paths relative to `path` or on any one folder or file name ("tests",
    "*/migrations/*", "test_*.py"), in addition to ALWAYS_EXCLUDED."""
    min_severity: Level = "low"
    """Findings of every kind below it are left out."""
    min_confidence: Level = "low"
    """Security findings below it are left out (radon's figures are certain: high)."""
    skip: Annotated[tuple[_RuleId, ...], msgspec.Meta(max_length=200)] = ()
    """bandit rule ids not to run, e.g. ["B101"] (assert); unknown ids are ignored."""
    complexity_rank: Rank = "C"
    """Functions ranked this or worse by radon (C: complexity 11-20) are findings."""
    max_files: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 10_000
    max_findings: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 1_000
    """The most severe are kept; `summary` counts them all."""


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    kind: Kind
    rule_id: str
    """bandit's (B602), or CC (cyclomatic complexity) and MI (maintainability index)."""
    rule: str
    file: str
    """Relative to the analysed path, with '/'."""
    line: int
    end_line: int
    column: int
    severity: Level
    confidence: Level
    message: str
    suggestion: str
    cwe: int | None = None
    more_info: str | None = None
    score: float | None = None
    """The complexity or the maintainability index, for CC and MI."""


class FileMetrics(msgspec.Struct, frozen=True, kw_only=True):
    file: str
    lines: int
    sloc: int
    comments: int
    functions: int
    average_complexity: float
    max_complexity: int
    maintainability: float | None
    """radon's maintainability index (0-100, comments counting multi-line strings)."""
    maintainability_rank: str | None


class Skipped(msgspec.Struct, frozen=True, kw_only=True):
    file: str
    reason: str


class Summary(msgspec.Struct, frozen=True, kw_only=True):
    files_analyzed: int
    files_skipped: int
    files_truncated: bool
    """More files than max_files matched: the first max_files (sorted) were analysed."""
    lines: int
    findings: int
    """All findings at or above min_severity and min_confidence, also those not listed."""
    findings_truncated: bool
    by_severity: dict[str, int]
    by_kind: dict[str, int]
    by_rule: dict[str, int]
    average_complexity: float
    """Over every function and method."""
    average_maintainability: float | None


class CodeAnalysisResult(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    summary: Summary
    findings: list[Finding]
    files: list[FileMetrics]
    skipped: list[Skipped]
    seconds: float
