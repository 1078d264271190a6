"""LocalIssues: issues from markdown and JSON files in a folder, listed as GitHub lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.errors import InvalidParameter
from actors.workflows.issue_responder.github import Issue, IssueSource
from actors.workflows.issue_responder.local import LocalIssues, LocalIssuesError

CRASH = """\
---
number: 12
title: "Crash when saving twice"
labels: [bug, ui]
author: alice
---
Clicking save twice closes the app.

---
Below a rule, still the body.
"""


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "12-crash.md", CRASH)
    write(tmp_path, "7.md", "---\nnumber: 7\ntitle: Docs typo\nlabels: docs\n---\n")
    write(
        tmp_path,
        "more.json",
        '[{"number": 3, "title": "Old", "body": "done", "state": "closed"},'
        ' {"number": 20, "title": "Slow queries", "body": "...", "labels": ["perf", "bug"]}]',
    )
    write(tmp_path, "notes.txt", "not an issue")
    (tmp_path / "drafts").mkdir()
    write(tmp_path / "drafts", "99.md", "---\nnumber: 99\ntitle: not read\n---\n")
    return tmp_path


async def test_a_markdown_issue_is_its_front_matter_and_body(folder: Path) -> None:
    assert await LocalIssues(folder).get_issue(12) == Issue(
        number=12,
        title="Crash when saving twice",
        body="Clicking save twice closes the app.\n\n---\nBelow a rule, still the body.",
        labels=["bug", "ui"],
        author="alice",
    )


async def test_issues_list_newest_first_by_state_and_labels(folder: Path) -> None:
    issues: IssueSource = LocalIssues(folder)
    assert [i.number for i in await issues.list_issues()] == [20, 12, 7]
    assert [i.number for i in await issues.list_issues(state="all", limit=2)] == [20, 12]
    assert [i.number for i in await issues.list_issues(state="closed")] == [3]
    assert [i.number for i in await issues.list_issues(labels=["bug"])] == [20, 12]
    assert [i.number for i in await issues.list_issues(labels=["bug", "ui"])] == [12]
    assert (await issues.get_issue(7)).labels == ["docs"]


async def test_a_json_file_may_hold_one_issue(tmp_path: Path) -> None:
    write(tmp_path, "5.json", '{"number": 5, "title": "One", "body": "b", "comments": 2}')
    assert await LocalIssues(tmp_path).list_issues() == [
        Issue(number=5, title="One", body="b", comments=2)
    ]


async def test_a_missing_issue_is_an_error(folder: Path) -> None:
    with pytest.raises(LocalIssuesError, match="no issue #99"):
        await LocalIssues(folder).get_issue(99)


async def test_an_unknown_state_is_refused(folder: Path) -> None:
    with pytest.raises(InvalidParameter):
        await LocalIssues(folder).list_issues(state="wip")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("number: 1\ntitle: x\n", "no front matter"),
        ("---\nnumber: 1\ntitle: x\n", "no closing ---"),
        ("---\nnumber: 1\ntitel: x\n---\n", "unknown front matter line 'titel: x'"),
        ("---\ntitle: x\n---\n", "missing required field `number`"),
        ("---\nnumber: one\ntitle: x\n---\n", "Expected `int`"),
        ("---\nnumber: 1\ntitle: x\nstate: wip\n---\n", "state 'wip'"),
    ],
)
async def test_a_malformed_markdown_file_is_named(tmp_path: Path, text: str, reason: str) -> None:
    write(tmp_path, "bad.md", text)
    with pytest.raises(LocalIssuesError, match=reason) as caught:
        await LocalIssues(tmp_path).list_issues()
    assert caught.value.path == tmp_path / "bad.md"


async def test_a_number_used_twice_names_both_files(folder: Path) -> None:
    write(folder, "zz.json", '{"number": 12, "title": "again", "body": ""}')
    with pytest.raises(LocalIssuesError, match=r"#12 is also in .*12-crash\.md"):
        await LocalIssues(folder).list_issues()


async def test_malformed_json_is_named(tmp_path: Path) -> None:
    write(tmp_path, "bad.json", '{"number": 1}')
    with pytest.raises(LocalIssuesError, match=r"bad\.json.*title"):
        await LocalIssues(tmp_path).list_issues()


async def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LocalIssuesError, match="not a folder"):
        await LocalIssues(tmp_path / "nowhere").list_issues()
