"""The project self-improver over the API on the planted fixture repository: improvements
that point at the planted lines, verified ones committed to an amas/ branch with
auto_apply (never the checked-out branch), kept as a diff without it, and a second run
that starts from what the first one learned."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from amas.runtime.node import Node, NodeConfig
from tests.api.support import assert_envelope
from tests.api.vendors import config_with
from tests.conftest import fresh_config, serving
from tests.fakes.llm import ok
from tests.fixtures.planted_repo import PlantedRepo, git, make_repo

PHASES = [
    "project_analysis_learning",
    "intelligent_improvement_generation",
    "automated_implementation",
    "learning_adaptation",
]


@pytest.fixture
def repo(tmp_path: Path) -> PlantedRepo:
    return make_repo(tmp_path / "code" / "shop")


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    config = fresh_config(tmp_path)
    config.scopes = Scopes(
        NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, tmp_path / "code")
    )
    return config


async def _run(api: Any, **body: Any) -> dict[str, Any]:
    response = await api.post("/workflows/self-improver/trigger", json=body)
    assert response.status_code == 202, response.text
    assert list(response.json()["phases"]) == PHASES
    workflow_id = response.json()["workflow_id"]
    for _ in range(600):
        results = (await api.get(f"/workflows/self-improver/{workflow_id}/results")).json()
        if results["status"] in ("completed", "failed"):
            return dict(results)
        await asyncio.sleep(0.05)
    raise AssertionError(results)


async def test_auto_apply_commits_verified_improvements_to_an_amas_branch(api, repo):
    before = (git(repo.path, "rev-parse", "HEAD"), git(repo.path, "status", "--porcelain"))
    results = await _run(api, repository=str(repo.path), auto_apply=True)

    assert results["status"] == "completed", results
    assert results["phases"] == dict.fromkeys(PHASES, "completed")
    improvements = results["improvements"]
    for rule in ("F401", "B602", "B105"):
        file, line = repo.planted[rule]
        assert any(i["rule_id"] == rule and i["file"] == file and i["line"] == line
                   for i in improvements), rule  # fmt: skip
    for improvement in improvements:
        assert set(improvement) >= {"type", "description", "file", "line", "suggestion",
                                    "confidence", "applied"}  # fmt: skip
    [unused] = [i for i in improvements if i["rule_id"] == "F401"]
    assert unused["applied"] and unused["verified"] and unused["method"] == "autofix"
    assert not any(i["applied"] for i in improvements if i["rule_id"] == "B602")
    assert results["branch"].startswith("amas/self-improver-")
    assert git(repo.path, "log", "-1", "--format=%s", results["branch"]).startswith("AMAS")
    assert (git(repo.path, "rev-parse", "HEAD"), git(repo.path, "status", "--porcelain")) == before
    metrics = results["metrics"]
    assert metrics["applied_improvements"] == sum(i["applied"] for i in improvements)
    assert metrics["performance_gain"] is None
    assert results["calibration"]["F401"]["verified"] == 1.0
    assert "testing" in results["not_analysed"]
    assert results["decided_by"] == ["rules"]  # no provider: the rules, and it says so


async def test_without_auto_apply_nothing_is_committed_and_the_next_run_has_learned(api, repo):
    first = await _run(api, repository=str(repo.path), target_areas="code_quality,security")
    assert first["status"] == "completed", first
    assert first["branch"] is None and first["commit"] is None
    assert "-import os" in first["diff"]  # the verified fix, kept for approval
    assert not any(i["applied"] for i in first["improvements"])
    learned = first["calibration"]["F401"]["confidence"]

    second = await _run(api, repository=str(repo.path), target_areas="code_quality,security")
    [unused] = [i for i in second["improvements"] if i["rule_id"] == "F401"]
    assert unused["confidence"] == learned  # the prior comes from the first run

    # An operator approves the first run's verified fix: it lands on a branch of its own.
    [verified] = [i["id"] for i in first["improvements"] if i["verified"]]
    workflow_id = first["workflow_id"]
    refused = await api.post(f"/workflows/{workflow_id}/approve", json={"improvements": ["F99"]})
    assert_envelope(refused, 400, "INVALID_PARAMETER")
    approved = await api.post(
        f"/workflows/{workflow_id}/approve", json={"improvements": [verified]}
    )
    assert approved.status_code == 200, approved.text
    approval = approved.json()["approval"]
    assert approval["applied"] == [verified]
    assert approval["branch"] == f"amas/{workflow_id}-approved"
    assert "-import os" in git(repo.path, "show", approval["branch"])
    again = (await api.get(f"/workflows/self-improver/{workflow_id}/results")).json()
    assert again["approval"] == approval


async def test_bad_areas_are_400(api):
    response = await api.post("/workflows/self-improver/trigger", json={"target_areas": "vibes"})
    assert_envelope(response, 400, "INVALID_CONFIGURATION")
    missing = await api.get("/workflows/self-improver/self-improver-nope/results")
    assert_envelope(missing, 404, "WORKFLOW_NOT_FOUND")


async def test_a_provider_sharpens_the_suggestions(tmp_path, repo, vendors):

    vendors.deepseek.default = ok(
        '[{"id": "F1", "suggestion": "Pass a list, not a shell string."}]'
    )
    config = config_with(vendors, tmp_path)
    config.scopes = Scopes(
        NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, tmp_path / "code")
    )
    async with Node(config) as node, serving(node) as api:
        results = await _run(
            api, repository=str(repo.path), target_areas="security", ai_providers="deepseek"
        )
    assert results["status"] == "completed", results
    assert results["decided_by"] == ["deepseek"]
    [first] = [i for i in results["improvements"] if i["id"] == "F1"]
    assert first["suggestion"] == "Pass a list, not a shell string."
    assert first["rule_id"] == "B602" and first["file"] == repo.planted["B602"][0]
