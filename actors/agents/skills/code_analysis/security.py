"""bandit's checks over a syntax tree that was parsed once for bandit and radon alike.

`bandit -r` reads and parses every file itself (BanditManager.run_tests ->
_parse_file -> BanditNodeVisitor.process(source)). To share the tree with radon, this
drives the same pieces a file at a time: the manager's configuration and test set, the
`# nosec` comments read as `_parse_nosec_comment` reads them, and the node visitor
walking our tree. Those are bandit internals, which is why pyproject pins bandit below 2;
tests/actors/agents/skills/test_code_analysis.py holds the findings equal to what
BanditManager.run_tests finds on the same files.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable, Sequence
from typing import Any

from bandit.core import config as b_config
from bandit.core import docs_utils
from bandit.core import manager as b_manager
from bandit.core import node_visitor as b_node_visitor

from actors.agents.skills.code_analysis import suggestions
from actors.agents.skills.code_analysis.params import LEVELS, Finding, Level


class _TreeVisitor(b_node_visitor.BanditNodeVisitor):  # type: ignore[misc]
    def process_tree(self, tree: ast.Module) -> None:
        """BanditNodeVisitor.process, given the tree instead of the source."""
        self.generic_visit(tree)
        self.context = {
            "file_data": self.fdata,
            "filename": self.fname,
            "lineno": 0,
            "linerange": [0, 1],
            "col_offset": 0,
        }
        self.update_scores(self.tester.run_tests(self.context, "File"))


class SecurityScanner:
    """One per analysis: bandit's configuration and test set, built once."""

    def __init__(self, skip: Iterable[str], min_severity: Level, min_confidence: Level) -> None:
        self._manager = b_manager.BanditManager(
            b_config.BanditConfig(), "file", profile={"exclude": set(skip)}
        )
        self._min_severity = LEVELS[min_severity]
        self._min_confidence = LEVELS[min_confidence]
        self._more_info: dict[str, str] = {}

    def scan(
        self,
        path: str,
        relative: str,
        source: bytes,
        tree: ast.Module,
        tokens: Sequence[tokenize.TokenInfo] | None,
    ) -> list[Finding]:
        """The findings in one file (`path` for bandit, `relative` in the result); `tokens`
        are the file's (None: tokenize failed, so no `# nosec` applies, as in bandit)."""
        manager = self._manager
        manager.metrics.begin(path)
        visitor = _TreeVisitor(
            path,
            io.BytesIO(source),
            manager.b_ma,
            manager.b_ts,
            False,
            _nosec_lines(tokens or ()),
            manager.metrics,
        )
        visitor.process_tree(tree)
        findings = (self._finding(issue, relative) for issue in visitor.tester.results)
        return [
            f
            for f in findings
            if LEVELS[f.severity] >= self._min_severity
            and LEVELS[f.confidence] >= self._min_confidence
        ]

    def _finding(self, issue: Any, relative: str) -> Finding:
        rule_id: str = issue.test_id
        more_info = self._more_info.get(rule_id)
        if more_info is None:
            more_info = self._more_info[rule_id] = docs_utils.get_url(rule_id)
        lines: list[int] = issue.linerange or [issue.lineno]
        cwe = issue.cwe.id if issue.cwe.id else None
        return Finding(
            kind="security",
            rule_id=rule_id,
            rule=issue.test,
            file=relative,
            line=issue.lineno,
            end_line=max(lines),
            column=max(issue.col_offset, 0),
            severity=_level(issue.severity),
            confidence=_level(issue.confidence),
            message=issue.text,
            suggestion=suggestions.security(rule_id, more_info),
            cwe=cwe,
            more_info=more_info,
        )


def _nosec_lines(tokens: Iterable[tokenize.TokenInfo]) -> dict[int, set[str] | None]:
    """line -> the rule ids a `# nosec` comment there names (empty: all), as bandit reads them."""
    return {
        token.start[0]: b_manager._parse_nosec_comment(token.string)
        for token in tokens
        if token.type == tokenize.COMMENT
    }


def _level(value: str) -> Level:
    """bandit's HIGH/MEDIUM/LOW (UNDEFINED, which no built-in rule uses, counts as low)."""
    lowered = value.lower()
    if lowered == "high":
        return "high"
    if lowered == "medium":
        return "medium"
    return "low"
