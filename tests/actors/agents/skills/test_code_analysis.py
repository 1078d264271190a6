"""code_analysis, called as the agent calls it: planted findings are found, the figures
are bandit's and radon's own, parameters and scope are checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from bandit.core import config as b_config
from bandit.core import manager as b_manager
from radon.complexity import cc_visit
from radon.metrics import mi_visit
from radon.raw import analyze as radon_raw

from actors.agents.skills import SKILLS, threads
from actors.agents.skills.code_analysis.lines import raw_counts
from actors.errors import InvalidParameter, OutOfScope
from tests.actors.agents.skills.samples import COMPLEX, PLANTED, code_folder, scopes

SKILL = SKILLS["code_analysis"]
ROOT = Path(__file__).resolve().parents[4]


async def no_progress(percent: int, message: str = "") -> None:
    pass


async def analyse(folder: Path, **parameters: Any) -> dict[str, Any]:
    return await SKILL({"path": str(folder), **parameters}, no_progress, scopes(folder))


def found(result: dict[str, Any], kind: str = "security") -> set[tuple[str, str, int]]:
    return {(f["rule_id"], f["file"], f["line"]) for f in result["findings"] if f["kind"] == kind}


async def test_every_planted_security_finding_is_found_with_a_suggestion(tmp_path):
    result = await analyse(code_folder(tmp_path))

    assert {(rule, *where) for rule, where in PLANTED.items()} <= found(result)
    for finding in result["findings"]:
        assert finding["severity"] in {"low", "medium", "high"}
        assert finding["confidence"] in {"low", "medium", "high"}
        assert finding["suggestion"]
    shell = next(f for f in result["findings"] if f["rule_id"] == "B602")
    assert shell["severity"] == "high"
    assert shell["rule"] == "subprocess_popen_with_shell_equals_true"
    assert shell["cwe"] == 78
    assert "shell=False" in shell["suggestion"]
    assert shell["more_info"].startswith("https://bandit.readthedocs.io/")


async def test_a_complex_function_is_a_complexity_finding(tmp_path):
    result = await analyse(code_folder(tmp_path))

    file, name, complexity = COMPLEX
    [finding] = [f for f in result["findings"] if f["kind"] == "complexity"]
    assert (finding["file"], finding["line"], finding["score"]) == (file, 1, complexity)
    assert name in finding["message"] and "rank C" in finding["message"]
    assert finding["severity"] == "low" and finding["confidence"] == "high"
    metrics = next(m for m in result["files"] if m["file"] == file)
    assert metrics["max_complexity"] == complexity
    assert metrics["maintainability_rank"] == "A"


@pytest.mark.parametrize(("branches", "rank", "severity"), [(50, "B", "low"), (100, "C", "medium")])
async def test_a_hard_to_maintain_module_is_a_maintainability_finding(
    tmp_path, branches, rank, severity
):
    body = "".join(
        f"    if x == {i} and y > {i}:\n        x = x * {i} + y - {i} / (y + {i}) % {i + 1}\n"
        for i in range(branches)
    )
    (tmp_path / "big.py").write_text(f"def big(x, y):\n{body}    return x\n")

    result = await analyse(tmp_path, complexity_rank="F")

    [finding] = [f for f in result["findings"] if f["kind"] == "maintainability"]
    assert (finding["rule_id"], finding["file"], finding["severity"]) == ("MI", "big.py", severity)
    assert f"rank {rank}" in finding["message"]
    assert result["files"][0]["maintainability_rank"] == rank


async def test_security_findings_are_those_bandit_finds_on_its_own(tmp_path):
    folder = code_folder(tmp_path)
    manager = b_manager.BanditManager(b_config.BanditConfig(), "file")
    manager.discover_files([str(folder)], recursive=True)
    manager.run_tests()
    bandit = {
        (i.test_id, Path(i.fname).relative_to(folder).as_posix(), i.lineno)
        for i in manager.get_issue_list()
    }

    result = await analyse(folder)

    assert found(result) == bandit
    assert ("B307", "app/run.py", 21) not in bandit  # the `# nosec B307` line


async def test_figures_are_those_radon_computes_on_its_own():
    folder = ROOT / "actors" / "agents"
    result = await SKILL({"path": str(folder)}, no_progress, scopes(ROOT))

    assert result["summary"]["files_analyzed"] > 10
    for metrics in result["files"]:
        text = (folder / metrics["file"]).read_text()
        blocks = [b for b in cc_visit(text) if hasattr(b, "is_method")]
        assert metrics["max_complexity"] == max((b.complexity for b in blocks), default=0)
        assert metrics["maintainability"] == round(mi_visit(text, True), 2), metrics["file"]


def test_line_counts_are_radon_raw_counts_on_this_repository():
    import io
    import tokenize

    for path in sorted(ROOT.glob("[aet]*/**/*.py")):
        source = path.read_bytes()
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
        text = source.decode()
        assert raw_counts(text, tokens) == radon_raw(text), path


def test_line_counts_of_odd_layouts_are_radon_raw_counts():
    samples = [
        "",
        "x = 1",
        "x = (\n\n  1,\n  # inside\n)\n",
        "a = 1 + \\\n    2\n",
        '"""doc\n\nstring"""\n\n# c\nif x: y = 1; z = 2\n',
        "def f():\n    '''one'''\n    return {\n        'a': 1,\n    }\n\n\n",
        "s = f'{x}' \\\n    'y'\nclass A: pass\n",
        "x = 1\r\ny = 2\r\n",
    ]
    import io
    import tokenize

    for text in samples:
        tokens = list(tokenize.tokenize(io.BytesIO(text.encode()).readline))
        assert raw_counts(text, tokens) == radon_raw(text), text


async def test_exclude_leaves_out_matching_folders(tmp_path):
    folder = code_folder(tmp_path)

    everything = await analyse(folder)
    without_tests = await analyse(folder, exclude=["tests"])

    assert ("B101", "tests/test_it.py", 2) in found(everything)
    assert not any(f["file"].startswith("tests/") for f in without_tests["findings"])
    assert {m["file"] for m in without_tests["files"]} == {
        "app/__init__.py",
        "app/run.py",
        "app/tangled.py",
    }


async def test_severity_confidence_and_skip_filter_the_findings(tmp_path):
    folder = code_folder(tmp_path)

    high = await analyse(folder, min_severity="high")
    skipped = await analyse(folder, skip=["B602", "B101"])
    sure = await analyse(folder, min_confidence="high")

    assert {f["severity"] for f in high["findings"]} == {"high"}
    assert {f["rule_id"] for f in high["findings"]} >= {"B602"}
    assert not {"B602", "B101"} & {f["rule_id"] for f in skipped["findings"]}
    assert "B307" in {f["rule_id"] for f in skipped["findings"]}
    assert all(f["confidence"] == "high" for f in sure["findings"])
    assert "B105" not in {f["rule_id"] for f in sure["findings"]}  # bandit: medium confidence


async def test_findings_come_most_severe_first_and_are_bounded(tmp_path):
    result = await analyse(code_folder(tmp_path), max_findings=2)

    everything = await analyse(tmp_path)
    assert len(result["findings"]) == 2
    assert result["summary"]["findings"] == len(everything["findings"]) > 2
    assert result["summary"]["findings_truncated"] is True
    assert [(f["rule_id"], f["severity"]) for f in result["findings"]] == [
        ("B602", "high"),
        ("B307", "medium"),  # as B506, with as much confidence, and on an earlier line
    ]
    assert sum(result["summary"]["by_severity"].values()) == result["summary"]["findings"]


async def test_a_file_that_does_not_parse_is_skipped_and_named(tmp_path):
    result = await analyse(code_folder(tmp_path))

    assert result["skipped"] == [{"file": "app/broken.py", "reason": "syntax error at line 1"}]
    assert result["summary"]["files_skipped"] == 1
    assert result["summary"]["files_analyzed"] == 4


async def test_a_single_file_can_be_analysed(tmp_path):
    code_folder(tmp_path)

    result = await analyse(tmp_path / "app" / "run.py")

    assert {rule for rule, _, _ in found(result)} >= set(PLANTED)
    assert {f["file"] for f in result["findings"]} == {"run.py"}


async def test_a_symlink_out_of_the_scope_is_not_read(tmp_path):
    scope = tmp_path / "scope"
    code_folder(scope)
    outside = tmp_path / "outside.py"
    outside.write_text("eval(input())\n")
    (scope / "app" / "leak.py").symlink_to(outside)

    result = await analyse(scope)

    assert {"file": "app/leak.py", "reason": "a symlink out of the scope"} in result["skipped"]
    assert not any(f["file"] == "app/leak.py" for f in result["findings"])


async def test_max_files_bounds_the_analysis_and_says_so(tmp_path):
    result = await analyse(code_folder(tmp_path), max_files=2)

    assert result["summary"]["files_truncated"] is True
    assert result["summary"]["files_analyzed"] + result["summary"]["files_skipped"] == 2


async def test_progress_rises_below_100_while_files_are_analysed(tmp_path, monkeypatch):
    monkeypatch.setattr(threads, "REPORT_EVERY", 0.0)
    seen: list[tuple[int, str]] = []

    async def progress(percent: int, message: str = "") -> None:
        seen.append((percent, message))

    await SKILL({"path": str(code_folder(tmp_path))}, progress, scopes(tmp_path))

    percents = [p for p, _ in seen]
    assert len(percents) >= 3
    assert percents == sorted(set(percents)) and all(0 <= p < 100 for p in percents)
    assert any("of 5 files" in m for _, m in seen)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, "path"),
        ({"path": 3}, "path"),
        ({"path": "{tmp}", "min_severity": "severe"}, "min_severity"),
        ({"path": "{tmp}", "min_confidence": 1}, "min_confidence"),
        ({"path": "{tmp}", "skip": ["assert"]}, "skip[0]"),
        ({"path": "{tmp}", "complexity_rank": "G"}, "complexity_rank"),
        ({"path": "{tmp}", "max_files": 0}, "max_files"),
        ({"path": "{tmp}", "max_findings": -1}, "max_findings"),
        ({"path": "{tmp}", "exclude": "tests"}, "exclude"),
        ({"path": "{tmp}", "language": "python"}, "language"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(tmp_path, parameters, named):
    parameters = {
        k: v.format(tmp=tmp_path) if k == "path" and isinstance(v, str) else v
        for k, v in parameters.items()
    }
    with pytest.raises(InvalidParameter) as refused:
        SKILL.validate(parameters, scopes(tmp_path))

    assert refused.value.name == named


def test_a_path_that_does_not_exist_is_an_invalid_parameter(tmp_path):
    with pytest.raises(InvalidParameter) as refused:
        SKILL.validate({"path": str(tmp_path / "nope")}, scopes(tmp_path))

    assert refused.value.name == "path"
    assert "does not exist" in str(refused.value)


@pytest.mark.parametrize(
    "where", ["/etc", "{tmp}/scope/..", "{tmp}/scope/app/../../outside", "relative/to/cwd"]
)
def test_a_path_outside_the_scope_is_refused_before_anything_is_read(tmp_path, where):
    scope = tmp_path / "scope"
    code_folder(scope)
    (tmp_path / "outside").mkdir()

    with pytest.raises(OutOfScope) as refused:
        SKILL.validate({"path": where.format(tmp=tmp_path)}, scopes(scope))

    assert refused.value.name == "path"


def test_a_symlink_pointing_out_of_the_scope_is_refused(tmp_path):
    scope = tmp_path / "scope"
    scope.mkdir()
    (scope / "etc").symlink_to("/etc")

    with pytest.raises(OutOfScope):
        SKILL.validate({"path": str(scope / "etc")}, scopes(scope))


def test_a_fifo_named_like_python_is_skipped_not_waited_on(tmp_path):
    import asyncio

    code_folder(tmp_path)
    os.mkfifo(tmp_path / "app" / "pipe.py")

    result = asyncio.run(analyse(tmp_path))

    assert any(s["file"] == "app/pipe.py" for s in result["skipped"])
