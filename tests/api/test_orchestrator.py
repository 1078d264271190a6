"""The master orchestrator over the API, on a fixture repository with planted problems:
its four layers complete with the seed's shape and real content, with the rules deciding
when no provider is configured and the providers when one is; kept fixes make their
finding go away on a branch of their own, and the checked-out branch is never touched."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from amas.runtime.node import Node, NodeConfig
from tests.api.support import assert_envelope
from tests.api.vendors import Vendors, config_with
from tests.conftest import fresh_config, serving
from tests.fakes.llm import ok
from tests.fixtures.planted_repo import PlantedRepo, git, make_repo

LAYERS = [
    "layer1_detection_analysis",
    "layer2_intelligence_decision",
    "layer3_execution_fix",
    "layer4_orchestration_management",
]


@pytest.fixture
def repo(tmp_path: Path) -> PlantedRepo:
    return make_repo(tmp_path / "code" / "shop")


def _scoped(config: NodeConfig, tmp_path: Path) -> NodeConfig:
    config.scopes = Scopes(
        NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, tmp_path / "code")
    )
    return config


def _state(repo: PlantedRepo) -> tuple[str, str, str]:
    return (
        git(repo.path, "rev-parse", "--abbrev-ref", "HEAD"),
        git(repo.path, "rev-parse", "HEAD"),
        git(repo.path, "status", "--porcelain"),
    )


async def _run(api: Any, **body: Any) -> dict[str, Any]:
    response = await api.post("/workflows/orchestrator/trigger", json=body)
    assert response.status_code == 202, response.text
    triggered = response.json()
    assert list(triggered["layers"]) == LAYERS
    assert triggered["layers"]["layer1_detection_analysis"] == "queued"
    workflow_id = triggered["workflow_id"]
    for _ in range(600):
        status = (await api.get(f"/workflows/orchestrator/{workflow_id}/status")).json()
        if status["status"] in ("completed", "failed", "cancelled"):
            return dict(status)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} did not end: {status}")


async def test_with_no_provider_the_rules_decide_and_a_lint_fix_is_kept(tmp_path, repo):
    before = _state(repo)
    async with Node(_scoped(fresh_config(tmp_path), tmp_path)) as node, serving(node) as api:
        status = await _run(api, repository=str(repo.path), ai_providers="all")
        workflow_id = status["workflow_id"]
        logs = (await api.get(f"/workflows/{workflow_id}/logs", params={"level": "info"})).json()

    assert status["status"] == "completed", status
    assert status["layers"] == dict.fromkeys(LAYERS, "completed")
    assert status["progress"] == 100 and status["current_layer"] is None
    assert status["ai_providers_used"] == []
    results = status["results"]
    found = {(f["rule_id"], f["file"], f["line"]) for f in results["analysis_results"]["findings"]}
    for rule in ("F401", "B602", "B105", "CC"):
        file, line = repo.planted[rule]
        assert any(r == rule and f == file and abs(n - line) <= 1 for r, f, n in found), rule
    decisions = results["decisions"]
    assert decisions["decided_by"] == ["rules"]
    assert all(d["decided_by"] == "rules" for d in decisions["items"])
    execution = results["execution"]
    kept = [f for f in execution["fixes"] if f["kept"]]
    assert any(f["rule_id"] == "F401" and f["method"] == "autofix" for f in kept)
    assert execution["branch"] == f"amas/{workflow_id}"
    assert "import" in execution["diff"]
    assert git(repo.path, "log", "-1", "--format=%s", execution["branch"]).startswith("AMAS")
    assert _state(repo) == before  # the checked-out branch and the work tree untouched
    management = results["management"]
    assert management["report"].startswith("# Orchestrator run")
    assert management["metrics"]["fixes_kept"] == len(kept)
    assert {o["outcome"] for o in management["outcomes"]} <= {
        "fixed", "fix_failed", "follow_up", "ignored",
    }  # fmt: skip
    assert any("no AI answer" in line["message"] for line in logs["logs"])


async def test_a_provider_ranks_the_findings_and_says_so(tmp_path, repo, vendors: Vendors):
    ranking = [
        {"id": f"F{n}", "action": "follow_up", "priority": 2, "reason": "worth a look"}
        for n in range(1, 60)
    ]
    vendors.deepseek.default = ok(json.dumps(ranking))
    config = _scoped(config_with(vendors, tmp_path), tmp_path)
    async with Node(config) as node, serving(node) as api:
        status = await _run(api, repository=str(repo.path), ai_providers="deepseek")

    assert status["status"] == "completed", status
    assert status["ai_providers_used"] == ["deepseek"]
    decisions = status["results"]["decisions"]
    assert decisions["decided_by"] == ["deepseek"]
    assert {d["action"] for d in decisions["items"]} == {"follow_up"}
    assert status["results"]["execution"]["branch"] is None  # nothing was to be fixed


async def test_bad_configuration_is_400_and_a_repository_outside_the_scope_403(tmp_path, repo):
    async with Node(_scoped(fresh_config(tmp_path), tmp_path)) as node, serving(node) as api:
        bad = await api.post(
            "/workflows/orchestrator/trigger", json={"target_components": "astrology"}
        )
        assert_envelope(bad, 400, "INVALID_CONFIGURATION")
        providers = await api.post(
            "/workflows/orchestrator/trigger", json={"ai_providers": "hal9000"}
        )
        assert_envelope(providers, 400, "INVALID_CONFIGURATION")
        outside = await api.post("/workflows/orchestrator/trigger", json={"repository": "/etc"})
        assert_envelope(outside, 403, "FORBIDDEN")
        mode = await api.post(
            "/workflows/orchestrator/trigger", json={"orchestration_mode": "yolo"}
        )
        assert_envelope(mode, 422, "VALIDATION_ERROR")
