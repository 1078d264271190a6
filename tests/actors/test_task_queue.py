"""Tasks wait for a free slot: on a node with one agent that runs one task at a time."""

from __future__ import annotations

import msgspec
import pytest

from actors.agents.catalog import default_agents

AGENT = "osint-agent"


@pytest.fixture
def node_config(node_config):
    [spec] = [s for s in default_agents() if s.agent_id == AGENT]
    node_config.agents = [msgspec.structs.replace(spec, max_concurrent_tasks=1)]
    return node_config


async def _submit(api, priority="normal", **parameters):
    response = await api.post(
        "/tasks", json={"task_type": "echo", "priority": priority, "parameters": parameters}
    )
    assert response.status_code == 201, response.text
    return response.json()["task_id"]


async def test_task_waits_queued_while_the_only_slot_is_taken(api, tap, wait_task):
    events = await tap("task.*")
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")

    waiting = await _submit(api)

    assert (await api.get(f"/tasks/{waiting}")).json()["status"] == "queued"
    assert (await api.get("/tasks", params={"status": "queued"})).json()["total"] == 1
    await api.delete(f"/tasks/{busy}")
    done = await wait_task(waiting, "completed")
    assert list(done["agents"]) == [AGENT]
    started = [e["data"]["task_id"] for e in events.events if e["type"] == "task.started"]
    assert started == [busy, waiting]


async def test_cancelled_queued_task_never_starts(api, tap, wait_task):
    events = await tap("task.*")
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")
    waiting = await _submit(api)

    response = await api.delete(f"/tasks/{waiting}")
    await api.delete(f"/tasks/{busy}")
    after = await _submit(api)
    await wait_task(after, "completed")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert [e["type"] for e in events.of("task_id", waiting)] == ["task.created", "task.cancelled"]
    task = (await api.get(f"/tasks/{waiting}")).json()
    assert task["status"] == "cancelled" and task["started_at"] is None and task["agents"] == {}


async def test_freed_slot_goes_to_the_most_urgent_task_then_the_oldest(api, tap, wait_task):
    events = await tap("task.*")
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")
    low = await _submit(api, "low")
    normal_first = await _submit(api, "normal")
    critical = await _submit(api, "critical")
    normal_second = await _submit(api, "normal")

    await api.delete(f"/tasks/{busy}")
    await wait_task(low, "completed")

    started = [e["data"]["task_id"] for e in events.events if e["type"] == "task.started"]
    assert started == [busy, critical, normal_first, normal_second, low]


async def test_raising_max_concurrent_tasks_lets_queued_tasks_run_together(api, wait_task):
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")
    waiting = await _submit(api)

    response = await api.put(f"/agents/{AGENT}/config", json={"max_concurrent_tasks": 2})

    assert response.status_code == 200, response.text
    assert response.json()["configuration"]["max_concurrent_tasks"] == 2
    assert (await wait_task(waiting, "completed"))["status"] == "completed"
    assert (await api.get(f"/tasks/{busy}")).json()["status"] == "in_progress"
    await api.delete(f"/tasks/{busy}")


async def test_list_filters_by_each_status(api, wait_task):
    done = await _submit(api)
    await wait_task(done, "completed")
    dropped = await _submit(api, delay=30)
    await wait_task(dropped, "in_progress")
    await api.delete(f"/tasks/{dropped}")
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")
    waiting = await _submit(api)

    by_status = {}
    for status in ("queued", "in_progress", "completed", "failed", "cancelled"):
        page = (await api.get("/tasks", params={"status": status})).json()
        assert page["total"] == len(page["tasks"])
        assert {t["status"] for t in page["tasks"]} <= {status}
        by_status[status] = [t["task_id"] for t in page["tasks"]]
    combined = (await api.get("/tasks", params={"status": "cancelled", "agent_id": AGENT})).json()
    await api.delete(f"/tasks/{busy}")

    assert by_status == {
        "queued": [waiting],
        "in_progress": [busy],
        "completed": [done],
        "failed": [],
        "cancelled": [dropped],
    }
    assert [t["task_id"] for t in combined["tasks"]] == [dropped]


class Poison:
    """A message the scheduler does not understand: it crashes and is restarted."""


async def test_queued_task_runs_after_a_scheduler_crash(api, node, wait_task):
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")
    waiting = await _submit(api)

    node.fleet.scheduler.tell(Poison())
    await api.delete(f"/tasks/{busy}")

    task = await wait_task(waiting, "completed", "failed", "cancelled", timeout=3)
    assert task["status"] == "completed"
    assert node.fleet.scheduler.crashes == 1


async def test_slot_freed_after_a_scheduler_crash_takes_new_work(api, node, wait_task):
    busy = await _submit(api, delay=30)
    await wait_task(busy, "in_progress")

    node.fleet.scheduler.tell(Poison())
    await api.delete(f"/tasks/{busy}")
    after = await _submit(api)

    task = await wait_task(after, "completed", "failed", "cancelled", timeout=3)
    assert task["status"] == "completed"
