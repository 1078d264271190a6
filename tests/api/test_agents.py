"""PUT /agents/{id}/config: the change is recorded, shown, and governs the next task."""

from __future__ import annotations

import pytest


async def _agent_ids(api):
    return [a["id"] for a in (await api.get("/agents")).json()["agents"]]


@pytest.fixture
async def impatient(api):
    """Every agent times out after 0.2 s (the scheduler may hand the task to any)."""
    answers = {}
    for agent_id in await _agent_ids(api):
        answers[agent_id] = await api.put(f"/agents/{agent_id}/config", json={"timeout": 0.2})
    return answers


async def test_configuration_change_is_answered_updated_with_the_new_configuration(api, impatient):
    assert len(impatient) == 8
    for agent_id, response in impatient.items():
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == agent_id
        assert body["status"] == "updated"
        assert body["configuration"]["timeout"] == 0.2
        assert body["configuration"]["max_concurrent_tasks"] == 5  # untouched
        assert body["configuration"]["priority"] in {"low", "normal", "high", "critical"}


async def test_configuration_change_is_visible_on_the_agent(api, tap):
    events = await tap("agent.*")
    body = {"timeout": 42.5, "max_concurrent_tasks": 7, "priority": "critical"}

    response = await api.put("/agents/reporting-agent-2/config", json=body)
    agent = (await api.get("/agents/reporting-agent-2")).json()  # read-your-writes: no wait

    assert response.json()["configuration"] == body
    assert agent["configuration"] == body
    configured = await events.wait_for_type("agent.configured", agent_id="reporting-agent-2")
    assert {k: configured["data"][k] for k in body} == body
    others = (await api.get("/agents/reporting-agent")).json()["configuration"]
    assert others == {"timeout": 300.0, "max_concurrent_tasks": 5, "priority": "low"}


async def test_partial_configuration_change_keeps_the_other_settings(api):
    before = (await api.get("/agents/security-agent")).json()["configuration"]

    response = await api.put("/agents/security-agent/config", json={"priority": "low"})

    assert response.json()["configuration"] == {**before, "priority": "low"}


async def test_task_that_outlives_the_agents_timeout_fails_with_reason_timeout(
    api, impatient, tap, wait_task
):
    events = await tap("task.*")

    response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 5}})
    task_id = response.json()["task_id"]

    task = await wait_task(task_id, "completed", "failed", "cancelled")
    assert task["status"] == "failed"
    assert task["error"]["reason"] == "timeout"
    assert "0.2" in task["error"]["message"]
    assert task["completed_at"] is not None
    failed = await events.wait_for_type("task.failed", task_id=task_id)
    assert failed["data"]["reason"] == "timeout"
    assert "task.completed" not in [e["type"] for e in events.of("task_id", task_id)]
    results = (await api.get(f"/tasks/{task_id}/results")).json()
    assert results["status"] == "failed" and results["results"] is None
    assert results["error"]["reason"] == "timeout"
    [agent_id] = task["agents"]
    assert task["agents"][agent_id]["status"] == "failed"
    performance = (await api.get(f"/agents/{agent_id}")).json()["performance"]
    assert performance["tasks_failed"] == 1 and performance["success_rate"] == 0.0


async def test_task_within_the_timeout_still_completes(api, impatient, wait_task):
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"steps": 2}})

    task = await wait_task(response.json()["task_id"], "completed", "failed")

    assert task["status"] == "completed"
