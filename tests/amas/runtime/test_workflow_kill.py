"""`kill -9` of `amas serve` during an orchestrator run's layer 2 and again during its
layer 3: after each restart the workflow goes on at the step under way and completes; no
provider call whose answer was recorded is made again, no agent task is made twice, and
the log verifies. Real processes; the providers are fake vendors on loopback."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.llm import ok, slow
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.fixtures.planted_repo import git, make_repo
from tests.served import clean_env, serve_process, wait_until

RANKING = [
    {"id": "F1", "action": "fix", "priority": 1, "reason": "shell injection"},
    *({"id": f"F{n}", "action": "ignore", "priority": 5, "reason": "minor"} for n in range(2, 9)),
]


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=10)


def _status(api: httpx.Client, workflow_id: str) -> dict[str, Any]:
    response = api.get(f"/workflows/orchestrator/{workflow_id}/status")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_killed_node_resumes_the_orchestrator_and_repeats_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "code" / "shop")
    head = git(repo.path, "rev-parse", "HEAD")
    key = secrets.token_urlsafe(16)
    with FakeOpenAI("sk-deepseek-kill") as deepseek, FakeOpenAI("sk-glm-kill") as glm:
        deepseek.script(ok(json.dumps(RANKING)))
        deepseek.default = slow(2.0, then=ok("I have no patch for this."))
        glm.default = slow(2.0, then=ok(json.dumps(RANKING)))
        env = clean_env(
            AMAS_API_KEY=key,
            AMAS_CODE_SCOPE=str(tmp_path / "code"),
            AMAS_PROVIDER_OLLAMA_BASE_URL="http://127.0.0.1:9/v1",
            AMAS_PROVIDER_DEEPSEEK_API_KEY=deepseek.key,
            AMAS_PROVIDER_DEEPSEEK_BASE_URL=deepseek.base_url,
            AMAS_PROVIDER_GLM_API_KEY=glm.key,
            AMAS_PROVIDER_GLM_BASE_URL=glm.base_url,
        )
        body = {
            "repository": str(repo.path),
            "target_components": "security",
            "ai_providers": "deepseek,glm",
        }
        with serve_process(tmp_path, env=env) as node, _client(node.base, key) as api:
            response = api.post("/workflows/orchestrator/trigger", json=body)
            assert response.status_code == 202, response.text
            workflow_id = response.json()["workflow_id"]
            wait_until(lambda: glm.count("/chat/completions") == 1, "glm is asked (layer 2)")
            assert _status(api, workflow_id)["current_layer"] == "layer2_intelligence_decision"
            node.process.kill()  # SIGKILL, while glm's answer is on its way
        assert deepseek.count("/chat/completions") == 1

        with serve_process(tmp_path, env=env) as node, _client(node.base, key) as api:
            wait_until(
                lambda: deepseek.count("/chat/completions") == 2,
                "deepseek is asked for a patch (layer 3)",
                timeout=30,
            )
            assert _status(api, workflow_id)["current_layer"] == "layer3_execution_fix"
            node.process.kill()  # while the patch is on its way

        with serve_process(tmp_path, env=env) as node, _client(node.base, key) as api:
            wait_until(
                lambda: _status(api, workflow_id)["status"] in ("completed", "failed"),
                "the workflow ends",
                timeout=60,
            )
            status = _status(api, workflow_id)
            analyses = api.get("/tasks", params={"task_type": "code_analysis"}).json()
            reports = api.get("/tasks", params={"task_type": "report_generation"}).json()
            verified = node.cli("events", "verify")

    assert status["status"] == "completed", status
    decisions = status["results"]["decisions"]
    assert decisions["decided_by"] == ["deepseek+glm"]
    # deepseek's ranking was recorded before the first kill: never asked again. glm's and
    # the patch's calls were cut by a kill before their answers were recorded: asked again.
    assert glm.count("/chat/completions") == 2
    assert deepseek.count("/chat/completions") == 3
    assert analyses["total"] == 1 and reports["total"] == 1
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert git(repo.path, "rev-parse", "HEAD") == head
    assert git(repo.path, "status", "--porcelain") == ""
