"""Actors that crash are recorded, restarted, and what they held is not lost."""

from __future__ import annotations


class Poison:
    """A message no actor understands: handling it raises inside the actor."""


async def _crash(node, tap, agent_id):
    """Crash `agent_id` and wait until it is announced back; returns (error, started)."""
    events = await tap("agent.*")
    node.fleet.agents[agent_id].tell(Poison())
    error = await events.wait_for_type("agent.error", agent_id=agent_id)
    started = await events.wait_for_type("agent.started", agent_id=agent_id, restarts=1)
    await node.projections.wait_for(started["position"])  # NATS may be ahead of the reads
    return error, started


async def test_crashed_agent_is_recorded_and_restarted(api, node, tap, eventually):
    error, started = await _crash(node, tap, "osint-agent")

    assert "TypeError" in error["data"]["error"]
    assert error["data"]["restarts"] == 1
    assert error["position"] < started["position"]
    assert started["data"]["agent_type"] == "osint"
    logged = [
        (e.type, e.data.restarts)
        for e in await node.store.read_all()
        if e.stream == "agent-osint-agent"
    ]
    assert logged == [("agent.started", 0), ("agent.error", 1), ("agent.started", 1)]
    agent = (await api.get("/agents/osint-agent")).json()
    assert agent["status"] == "active"
    assert agent["restarts"] == 1
    assert "TypeError" in agent["last_error"]
    await eventually(node.fleet.agents["osint-agent"].alive, "the agent actor runs again")
    assert (await api.get("/health")).json()["services"]["orchestrator"] == "running"


async def test_other_agents_are_untouched_by_a_crash(api, node, tap):
    await _crash(node, tap, "osint-agent")

    other = (await api.get("/agents/osint-agent-2")).json()

    assert other["restarts"] == 0 and other["last_error"] is None
    assert all(
        child.crashes == 0 for name, child in node.fleet.agents.items() if name != "osint-agent"
    )


async def test_restarted_agent_runs_tasks_again(api, node, tap, wait_task):
    # The most urgent agent is chosen first: make the one that crashes the preferred one.
    await api.put("/agents/osint-agent/config", json={"priority": "critical"})
    await _crash(node, tap, "osint-agent")

    task_id = (
        await api.post("/tasks", json={"task_type": "echo", "parameters": {"steps": 2}})
    ).json()["task_id"]

    task = await wait_task(task_id, "completed", "failed")
    assert task["status"] == "completed"
    assert list(task["agents"]) == ["osint-agent"]


async def test_agent_keeps_its_configuration_across_a_restart(api, node, tap, wait_task):
    configured = {"timeout": 0.2, "max_concurrent_tasks": 5, "priority": "critical"}
    await api.put("/agents/osint-agent/config", json=configured)
    await _crash(node, tap, "osint-agent")

    agent = (await api.get("/agents/osint-agent")).json()
    task_id = (
        await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 1}})
    ).json()["task_id"]
    task = await wait_task(task_id, "completed", "failed")

    assert agent["configuration"] == configured
    assert list(task["agents"]) == ["osint-agent"]
    assert task["status"] == "failed" and task["error"]["reason"] == "timeout"


async def test_task_of_a_crashed_agent_is_requeued_and_finished(api, node, tap, wait_task):
    tasks = await tap("task.*")
    task_id = (
        await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 1}})
    ).json()["task_id"]
    started = await tasks.wait_for_type("task.started", task_id=task_id)
    holder = started["data"]["agent_id"]

    node.fleet.agents[holder].tell(Poison())

    requeued = await tasks.wait_for_type("task.requeued", task_id=task_id)
    assert requeued["data"]["attempt"] == 1
    assert requeued["data"]["agent_id"] == holder
    assert "crash" in requeued["data"]["reason"]
    end = await tasks.wait_for(
        lambda e: (
            e["data"].get("task_id") == task_id
            and e["type"] in {"task.completed", "task.failed", "task.cancelled"}
        )
    )
    assert end["type"] in {"task.completed", "task.failed"}
    task = await wait_task(task_id, "completed", "failed")
    assert task["attempt"] == 2
    assert task["agents"][holder]["status"] == "abandoned"
    attempts = [
        e["data"]["attempt"] for e in tasks.of("task_id", task_id) if e["type"] == "task.started"
    ]
    assert attempts == [1, 2]


async def test_running_task_survives_a_task_manager_crash(api, node, tap, wait_task):
    tasks = await tap("task.*")
    task_id = (
        await api.post(
            "/tasks", json={"task_type": "echo", "parameters": {"delay": 0.5, "steps": 2}}
        )
    ).json()["task_id"]
    await tasks.wait_for_type("task.started", task_id=task_id)

    node.fleet.task_manager.tell(Poison())

    task = await wait_task(task_id, "completed", "failed")
    assert task["status"] == "completed", task
    assert node.fleet.task_manager.crashes == 1
    after = (await api.post("/tasks", json={"task_type": "echo"})).json()["task_id"]
    assert (await wait_task(after, "completed", "failed"))["status"] == "completed"
    assert [e["type"] for e in tasks.of("task_id", task_id)][-1] == "task.completed"


async def test_cancel_reaches_a_task_after_a_task_manager_crash(api, node, tap, wait_task):
    tasks = await tap("task.*")
    task_id = (
        await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 30}})
    ).json()["task_id"]
    await tasks.wait_for_type("task.started", task_id=task_id)
    node.fleet.task_manager.tell(Poison())

    response = await api.delete(f"/tasks/{task_id}")

    assert response.status_code == 200, response.text
    assert (await api.get(f"/tasks/{task_id}")).json()["status"] == "cancelled"
