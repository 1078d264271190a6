"""The analysis proper, in a skill thread: each file read once, parsed and tokenized once,
and the tree and the tokens given to radon and then to bandit."""

from __future__ import annotations

import ast
import importlib.util
import io
import time
import tokenize
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from actors.agents.scope import CodeScope
from actors.agents.skills.code_analysis.complexity import measure
from actors.agents.skills.code_analysis.files import Excluder, python_files
from actors.agents.skills.code_analysis.params import (
    ALWAYS_EXCLUDED,
    LEVELS,
    CodeAnalysisParams,
    CodeAnalysisResult,
    FileMetrics,
    Finding,
    Skipped,
    Summary,
)
from actors.agents.skills.code_analysis.security import SecurityScanner
from actors.agents.skills.paths import open_regular
from actors.agents.skills.threads import Reporter

MAX_FILE_BYTES = 5_000_000
"""Larger .py files are generated data, not code anyone reviews: skipped, and said so."""

_KINDS = {"security": 0, "complexity": 1, "maintainability": 2}


def analyze(
    root: Path, params: CodeAnalysisParams, code: CodeScope, report: Reporter
) -> CodeAnalysisResult:
    started = time.perf_counter()
    report(0, "finding Python files")
    found = python_files(
        root, Excluder((*ALWAYS_EXCLUDED, *params.exclude)), code, params.max_files
    )
    scanner = SecurityScanner(params.skip, params.min_severity, params.min_confidence)
    findings: list[Finding] = []
    files: list[FileMetrics] = []
    skipped = list(found.skipped)
    complexities: list[int] = []
    total = len(found.files)
    for done, (relative, path) in enumerate(found.files):
        report(1 + 98 * done // total, f"analysed {done} of {total} files")
        try:
            with open_regular(path) as file:
                source = file.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            skipped.append(Skipped(file=relative, reason=f"unreadable: {e.strerror or e}"))
            continue
        if len(source) > MAX_FILE_BYTES:
            skipped.append(Skipped(file=relative, reason=f"larger than {MAX_FILE_BYTES} bytes"))
            continue
        try:
            tree = ast.parse(source, filename=relative)
            text = importlib.util.decode_source(source)
        except SyntaxError as e:
            skipped.append(Skipped(file=relative, reason=f"syntax error at line {e.lineno}"))
            continue
        except ValueError as e:  # NUL bytes, an undecodable encoding
            skipped.append(Skipped(file=relative, reason=f"not Python source: {e}"))
            continue
        tokens = _tokens(source)
        try:
            measured = measure(relative, text, tree, tokens, params.complexity_rank)
            security = scanner.scan(str(path), relative, source, tree, tokens)
        except RecursionError:  # nesting deeper than the visitors can recurse
            skipped.append(Skipped(file=relative, reason="nested too deeply to analyse"))
            continue
        except Exception as e:  # as bandit -r does: one file a plugin trips on is skipped
            skipped.append(Skipped(file=relative, reason=f"analysis failed: {e!r}"))
            continue
        files.append(measured.metrics)
        complexities += measured.complexities
        findings += security
        findings += measured.findings
    report(99, "summarising")
    return _result(root, params, findings, files, skipped, complexities, found.truncated, started)


def _tokens(source: bytes) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def _result(
    root: Path,
    params: CodeAnalysisParams,
    findings: list[Finding],
    files: list[FileMetrics],
    skipped: list[Skipped],
    complexities: list[int],
    files_truncated: bool,
    started: float,
) -> CodeAnalysisResult:
    floor = LEVELS[params.min_severity]
    findings = [f for f in findings if LEVELS[f.severity] >= floor]
    findings.sort(
        key=lambda f: (
            -LEVELS[f.severity],
            -LEVELS[f.confidence],
            _KINDS[f.kind],
            f.file,
            f.line,
            f.rule_id,
        )
    )
    indices = [f.maintainability for f in files if f.maintainability is not None]
    summary = Summary(
        files_analyzed=len(files),
        files_skipped=len(skipped),
        files_truncated=files_truncated,
        lines=sum(f.lines for f in files),
        findings=len(findings),
        findings_truncated=len(findings) > params.max_findings,
        by_severity=_counts(f.severity for f in findings),
        by_kind=_counts(f.kind for f in findings),
        by_rule=_counts(f.rule_id for f in findings),
        average_complexity=round(sum(complexities) / len(complexities), 2) if complexities else 0.0,
        average_maintainability=round(sum(indices) / len(indices), 2) if indices else None,
    )
    return CodeAnalysisResult(
        path=str(root),
        summary=summary,
        findings=findings[: params.max_findings],
        files=files,
        skipped=skipped,
        seconds=round(time.perf_counter() - started, 3),
    )


def _counts(values: Iterable[str]) -> dict[str, int]:
    """Most frequent first."""
    return dict(Counter(values).most_common())
