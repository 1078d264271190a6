"""finding_gone: the check that reported a finding, run again in the worktree, says
whether a fix removed it (and never counts a suppression or a broken file as a fix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.agents.skills import SKILLS
from actors.errors import InvalidParameter
from actors.workflows import gitops
from actors.workflows.lint import lint
from actors.workflows.verify import finding_gone
from tests.actors.agents.skills.samples import scopes
from tests.fixtures.planted_repo import GRADING_PY, PlantedRepo, git, make_repo

SIMPLE_GRADE = '''\
"""Grades from scores."""

GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"))


def grade(score: int) -> str:
    return next((letter for floor, letter in GRADES if score >= floor), "F")
'''


@pytest.fixture
def planted(tmp_path: Path) -> PlantedRepo:
    return make_repo(tmp_path / "repo")


async def no_progress(percent: int, message: str = "") -> None:
    pass


async def analysed(repo: Path) -> dict[str, dict[str, Any]]:
    """code_analysis's findings in `repo`, as the agent reports them, by rule id."""
    result = await SKILLS["code_analysis"]({"path": str(repo)}, no_progress, scopes(repo))
    return {finding["rule_id"]: finding for finding in result["findings"]}


async def linted(folder: Path) -> dict[str, dict[str, Any]]:
    return {f.rule_id: msgspec.to_builtins(f) for f in await lint(folder)}


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def test_autofixing_the_unused_import_makes_its_finding_gone(planted):
    repo = planted.path
    finding = (await linted(repo))["F401"]
    before = git(repo, "status", "--porcelain", "--ignored"), git(repo, "rev-parse", "HEAD")

    async with gitops.worktree(repo, "amas/f401") as tree:
        assert await finding_gone(tree, finding) is False
        assert await gitops.autofix(tree, finding["file"], finding["rule_id"])
        assert await finding_gone(tree, finding) is True
        assert await finding_gone(repo, finding) is False

    assert (git(repo, "status", "--porcelain", "--ignored"), git(repo, "rev-parse", "HEAD")) == (
        before
    )


async def test_a_bandit_finding_is_not_gone_without_a_fix(planted):
    findings = await analysed(planted.path)

    async with gitops.worktree(planted.path, "amas/no-fix") as tree:
        await gitops.autofix(tree, "app/paths.py", "F401")
        gone = [r for r in ("B602", "B105", "B404", "CC") if await finding_gone(tree, findings[r])]

    assert gone == []


async def test_fixing_the_code_makes_a_bandit_finding_gone_and_a_nosec_does_not(planted):
    findings = await analysed(planted.path)
    shell, password = findings["B602"], findings["B105"]

    async with gitops.worktree(planted.path, "amas/bandit") as tree:
        rewrite(tree / password["file"], '"hunter2-staging"', '"hunter2-staging"  # nosec B105')
        rewrite(tree / shell["file"], "shell=True)", "shell=True)  # nosec")
        assert await finding_gone(tree, password) is False
        assert await finding_gone(tree, shell) is False

        rewrite(tree / shell["file"], "subprocess.call(cmd, shell=True)", "subprocess.call([cmd])")
        rewrite(tree / password["file"], '"hunter2-staging"  # nosec B105', "None")
        assert await finding_gone(tree, shell) is True
        assert await finding_gone(tree, password) is True


async def test_a_noqa_comment_does_not_make_a_lint_finding_gone(planted):
    finding = (await linted(planted.path))["F401"]

    async with gitops.worktree(planted.path, "amas/noqa") as tree:
        rewrite(tree / finding["file"], "import os\n", "import os  # noqa: F401\n")
        assert await lint(tree, ["F401"]) == []
        assert await finding_gone(tree, finding) is False


async def test_a_complexity_finding_is_its_function(planted):
    finding = (await analysed(planted.path))["CC"]
    regrade = GRADING_PY.split("\n\n\n", 1)[1].replace("def grade(", "def regrade(")

    async with gitops.worktree(planted.path, "amas/cc") as tree:
        grading = tree / finding["file"]
        grading.write_text(f"{GRADING_PY}\n\n{regrade}")
        assert await finding_gone(tree, finding) is False
        assert await finding_gone(tree, finding, complexity_rank="D") is True

        grading.write_text(f"{SIMPLE_GRADE}\n\n{regrade}")
        assert await finding_gone(tree, finding) is True
        assert await finding_gone(tree, {**finding, "message": "unnamed"}) is False


async def test_a_file_deleted_or_broken_proves_nothing(planted):
    findings = await analysed(planted.path)
    unused = (await linted(planted.path))["F401"]

    async with gitops.worktree(planted.path, "amas/broken") as tree:
        (tree / findings["B602"]["file"]).unlink()
        (tree / unused["file"]).write_text("def f(:\n")

        assert await finding_gone(tree, findings["B602"]) is False
        assert await finding_gone(tree, unused) is False
        assert await finding_gone(tree, {**unused, "rule_id": "invalid-syntax"}) is False


async def test_a_maintainability_finding_is_gone_when_the_file_ranks_a(planted):
    finding = {"kind": "maintainability", "rule_id": "MI", "file": "app/legacy.py", "line": 1}

    assert await finding_gone(planted.path, finding) is True


@pytest.mark.parametrize(
    ("finding", "said"),
    [
        ({"kind": "style", "rule_id": "X1", "file": "app/gone.py"}, "no check re-runs"),
        ({"kind": "lint", "file": "app/paths.py"}, "needs a kind, a rule_id and a file"),
        ({"kind": "lint", "rule_id": "F401", "file": "../next-door.py"}, "not a file inside"),
        ({"kind": "lint", "rule_id": "F401", "file": "/etc/passwd"}, "not a file inside"),
    ],
)
async def test_a_finding_that_cannot_be_checked_is_refused(planted, finding, said):
    with pytest.raises(InvalidParameter, match=said):
        await finding_gone(planted.path, finding)


async def test_an_unknown_complexity_rank_is_refused(planted):
    finding = {"kind": "complexity", "rule_id": "CC", "file": "app/grading.py"}

    with pytest.raises(InvalidParameter, match="complexity_rank"):
        await finding_gone(planted.path, finding, complexity_rank="Z")
    with pytest.raises(InvalidParameter, match="complexity_rank"):
        await finding_gone(planted.path, finding, complexity_rank="CD")
