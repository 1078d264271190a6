"""lint: ruff's findings shaped like code_analysis's, and ruff's safe fixes for FIXABLE."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.errors import InvalidParameter
from actors.workflows import lint
from actors.workflows.lint import FIXABLE, LintError
from tests.fixtures.planted_repo import git, make_repo

SAMPLES = {
    # rule -> a module that breaks it once, and only it
    "F401": "import os\n",
    "F541": 'x = f"a"\n',
    "F632": 'def f(x):\n    return x is "a"\n',
    "E401": "import os, sys  # isort: skip\n\nprint(os, sys)\n",  # split, I001 may follow
    "E703": "x = 1;\n",
    "E713": "def f(a, b):\n    return not a in b\n",
    "E714": "def f(a, b):\n    return not a is b\n",
    "W291": "x = 1 \n",
    "W292": "x = 1",
    "W293": "x = 1\n    \ny = 2\n",
    "W605": 'x = "\\d"\n',
    "I001": "import sys\nimport os\n\nprint(os, sys)\n",
    "B009": 'def f(x):\n    return getattr(x, "a")\n',
    "B010": 'def f(x):\n    setattr(x, "a", 1)\n',
    "B013": "try:\n    pass\nexcept (ValueError,):\n    pass\n",
    "B014": "try:\n    pass\nexcept (ValueError, ValueError):\n    pass\n",
    "UP004": "class A(object):\n    pass\n",
    "UP009": "# -*- coding: utf-8 -*-\nx = 1\n",
    "UP010": "from __future__ import print_function\n",
    "UP015": 'open("f", "r")\n',
    "UP018": 'x = str("a")\n',
    "UP024": "try:\n    pass\nexcept IOError:\n    pass\n",
    "UP025": 'x = u"a"\n',
    "UP032": 'x = "{}".format(1)\n',
    "UP034": "print((1))\n",
    "UP039": "class A():\n    pass\n",
    "SIM208": "def f(a):\n    return not (not a)\n",
}


def samples(folder: Path) -> Path:
    folder.mkdir()
    for rule, text in SAMPLES.items():
        (folder / f"{rule.lower()}.py").write_text(text)
    return folder


async def test_the_planted_repository_has_exactly_the_planted_lint_findings(tmp_path):
    repo = make_repo(tmp_path / "repo")

    findings = await lint.lint(repo.path)

    assert [(f.rule_id, f.file, f.line) for f in findings] == [
        ("D100", *repo.planted["D100"]),
        ("F401", *repo.planted["F401"]),
    ]
    unused = findings[1]
    assert (unused.kind, unused.rule, unused.column) == ("lint", "unused-import", 7)
    assert (unused.severity, unused.confidence, unused.fixable) == ("low", "high", True)
    assert unused.suggestion == "Remove unused import: `os`."
    assert unused.more_info == "https://docs.astral.sh/ruff/rules/unused-import"
    assert findings[0].fixable is False


async def test_linting_leaves_the_folder_as_it_was(tmp_path):
    repo = make_repo(tmp_path / "repo")
    before = sorted(p.relative_to(repo.path) for p in repo.path.rglob("*"))

    await lint.lint(repo.path)

    assert sorted(p.relative_to(repo.path) for p in repo.path.rglob("*")) == before
    assert git(repo.path, "status", "--porcelain", "--ignored") == ""


async def test_every_fixable_rule_has_a_sample_that_ruff_fixes_safely(tmp_path):
    folder = samples(tmp_path / "samples")
    assert set(SAMPLES) == FIXABLE

    planted = {(f"{rule.lower()}.py", rule) for rule in FIXABLE}

    found = await lint.lint(folder, sorted(FIXABLE))
    for rule in FIXABLE:
        await lint.fix(folder, folder / f"{rule.lower()}.py", rule)
    left = await lint.lint(folder, sorted(FIXABLE))

    assert {(f.file, f.rule_id, f.fixable) for f in found} == {(*p, True) for p in planted}
    assert {(f.file, f.rule_id) for f in left} & planted == set()


async def test_a_fix_ruff_calls_unsafe_is_not_fixable_and_not_applied(tmp_path):
    (tmp_path / "none.py").write_text("def f(x):\n    return x == None\n")

    [finding] = await lint.lint(tmp_path, ["E711"])
    await lint.fix(tmp_path, tmp_path / "none.py", "E711")

    assert (finding.rule_id, finding.fixable) == ("E711", False)
    assert await lint.reported(tmp_path, tmp_path / "none.py", "E711")


async def test_likely_bugs_rank_above_style(tmp_path):
    (tmp_path / "names.py").write_text('"""Names."""\n\nprint(undefined)\n')
    (tmp_path / "broken.py").write_text('"""Broken."""\n\ndef f(:\n    pass\n')

    findings = await lint.lint(tmp_path)

    assert {(f.file, f.rule_id, f.severity, f.fixable) for f in findings} >= {
        ("names.py", "F821", "high", False),
        ("broken.py", "invalid-syntax", "high", False),
    }


async def test_the_folders_own_ruff_configuration_applies(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff.lint]\nper-file-ignores = {"skipped.py" = ["F401"]}\nunfixable = ["F401"]\n'
    )
    (tmp_path / "skipped.py").write_text('"""Skipped."""\n\nimport os\n')
    (tmp_path / "kept.py").write_text('"""Kept."""\n\nimport os\n')

    findings = await lint.lint(tmp_path)
    await lint.fix(tmp_path, tmp_path / "kept.py", "F401")

    assert [(f.file, f.rule_id, f.fixable) for f in findings] == [("kept.py", "F401", False)]
    assert (tmp_path / "kept.py").read_text() == '"""Kept."""\n\nimport os\n'


async def test_reported_ignores_noqa_comments(tmp_path):
    (tmp_path / "hidden.py").write_text("import os  # noqa: F401\n")

    assert await lint.lint(tmp_path, ["F401"]) == []
    assert await lint.reported(tmp_path, tmp_path / "hidden.py", "F401")


async def test_what_ruff_refuses_is_a_lint_error_with_its_message(tmp_path):
    with pytest.raises(LintError, match="XYZ999") as raised:
        await lint.lint(tmp_path, ["XYZ999"])
    assert raised.value.returncode == 2


async def test_a_folder_that_is_not_one_is_refused(tmp_path):
    (tmp_path / "file.py").write_text("x = 1\n")

    with pytest.raises(InvalidParameter, match="not a folder"):
        await lint.lint(tmp_path / "file.py")


def test_require_ruff_says_how_to_install_it(monkeypatch):
    def missing() -> str:
        raise FileNotFoundError("no ruff")

    monkeypatch.setattr(lint, "find_ruff_bin", missing)

    with pytest.raises(LintError, match=r"install it \(pip install ruff\)"):
        lint.require_ruff()


async def test_ruff_is_stopped_at_its_timeout(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")

    with pytest.raises(LintError, match="took longer than"):
        await lint.lint(tmp_path, timeout=0.000001)
