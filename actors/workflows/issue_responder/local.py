"""Issues from a local folder, for running the issue responder without GitHub (a demo,
a test, an air-gapped node). Same reading methods as GitHubClient (an IssueSource).

The folder holds `*.md` and `*.json` files (not its subfolders), read anew on each call:

A markdown file is one issue: front matter between two `---` lines, then the body.

    ---
    number: 12
    title: Crash when saving twice
    labels: [bug, ui]
    author: alice
    ---
    Clicking save twice closes the app.

`number` and `title` are required; `labels` (`[a, b]` or `a, b`), `author`, `state`
(open or closed, default open), `url`, `comments` and `created_at` are optional; values
may be quoted. A JSON file holds one issue or a list of them, with Issue's fields
(`{"number": 12, "title": "...", "body": "...", "labels": ["bug"]}`). A number used
twice, an unknown field or a missing one is a LocalIssuesError naming the file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from actors.errors import ActorsError, InvalidParameter
from actors.workflows.issue_responder.github import Issue

__all__ = ["LocalIssues", "LocalIssuesError"]

_FIELDS = frozenset(Issue.__struct_fields__) - {"body"}


class LocalIssuesError(ActorsError):
    """A file that is not an issue in the format above, or an issue that is not there."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _value(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_markdown(path: Path, text: str) -> Issue:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise LocalIssuesError(path, "no front matter (the file must start with a --- line)")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if end is None:
        raise LocalIssuesError(path, "the front matter has no closing --- line")
    fields: dict[str, Any] = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or key not in _FIELDS:
            raise LocalIssuesError(path, f"unknown front matter line {line.strip()!r}")
        if key == "labels":
            items = value.strip().removeprefix("[").removesuffix("]").split(",")
            fields[key] = [_value(item) for item in items if item.strip()]
        else:
            fields[key] = _value(value)
    fields["body"] = "".join(lines[end + 1 :]).strip("\n")
    try:
        return msgspec.convert(fields, Issue, strict=False)
    except msgspec.ValidationError as e:
        raise LocalIssuesError(path, str(e)) from e


def parse_json(path: Path, data: bytes) -> list[Issue]:
    try:
        found = msgspec.json.decode(data, type=Issue | list[Issue])
    except msgspec.DecodeError as e:
        raise LocalIssuesError(path, str(e)) from e
    return found if isinstance(found, list) else [found]


class LocalIssues:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"LocalIssues({str(self.folder)!r})"

    async def list_issues(
        self, state: str = "open", limit: int = 30, labels: list[str] | None = None
    ) -> list[Issue]:
        """Up to `limit` issues in `state` (open, closed or all) having every one of
        `labels`, highest number first, as GitHub lists newest first."""
        if state not in ("open", "closed", "all"):
            raise InvalidParameter("state", f"{state!r} is not one of open, closed, all")
        wanted = set(labels or ())
        issues = sorted(
            (await asyncio.to_thread(self._read)).values(), key=lambda i: i.number, reverse=True
        )
        found = [i for i in issues if state in ("all", i.state) and wanted <= set(i.labels)]
        return found[: max(limit, 0)]

    async def get_issue(self, number: int) -> Issue:
        issue = (await asyncio.to_thread(self._read)).get(number)
        if issue is None:
            raise LocalIssuesError(self.folder, f"no issue #{number}")
        return issue

    def _read(self) -> dict[int, Issue]:
        if not self.folder.is_dir():
            raise LocalIssuesError(self.folder, "not a folder")
        issues: dict[int, Issue] = {}
        where: dict[int, Path] = {}
        for path in sorted(self.folder.iterdir()):
            if not path.is_file():
                continue
            try:
                if path.suffix == ".md":
                    found = [parse_markdown(path, path.read_text(encoding="utf-8"))]
                elif path.suffix == ".json":
                    found = parse_json(path, path.read_bytes())
                else:
                    continue
            except (OSError, UnicodeDecodeError) as e:
                raise LocalIssuesError(path, f"unreadable: {e}") from e
            for issue in found:
                if issue.state not in ("open", "closed"):
                    raise LocalIssuesError(path, f"#{issue.number}: state {issue.state!r}")
                if issue.number in where:
                    raise LocalIssuesError(
                        path, f"#{issue.number} is also in {where[issue.number]}"
                    )
                issues[issue.number], where[issue.number] = issue, path
        return issues
