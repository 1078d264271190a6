"""DELETE /tasks/{id}: a running task stops for good; a finished or unknown one is refused.

The tests share one node: each cancels tasks of its own (every task a test leaves running
it has cancelled) and looks at those only.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node):
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


@pytest.fixture
def nats_client(shared_nats_client):
    return shared_nats_client


async def _running_task(api, tap_task, wait_task, parameters):
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})
    task_id = response.json()["task_id"]
    await tap_task.wait_for_type("task.started", task_id=task_id)
    task = await wait_task(task_id, "in_progress")
    return task_id, next(iter(task["agents"]))


async def test_cancelled_running_task_is_cancelled_and_stays_so(api, tap, wait_task, node):
    events = await tap("task.*")
    task_id, agent_id = await _running_task(api, events, wait_task, {"delay": 30, "steps": 3})

    response = await api.delete(f"/tasks/{task_id}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["task_id"] == task_id
    assert body["status"] == "cancelled"
    assert body["cancelled_at"]
    task = (await api.get(f"/tasks/{task_id}")).json()  # read-your-writes: no wait
    assert task["status"] == "cancelled"
    assert task["cancelled_at"] == body["cancelled_at"]
    assert task["agents"][agent_id]["status"] == "cancelled"
    cancelled = await events.wait_for_type("task.cancelled", task_id=task_id)
    assert cancelled["data"]["agent_id"] == agent_id


async def test_cancel_stops_the_agents_work(api, tap, wait_task, node, eventually):
    events = await tap("task.*")
    task_id, agent_id = await _running_task(api, events, wait_task, {"delay": 30, "steps": 3})
    assert task_id in node.fleet.runner.running

    await api.delete(f"/tasks/{task_id}")

    await eventually(
        lambda: task_id not in node.fleet.runner.running, "the skill's coroutine is cancelled"
    )

    async def agent_idle():
        agent = (await api.get(f"/agents/{agent_id}")).json()
        return agent["performance"]["running_tasks"] == 0

    await eventually(agent_idle, f"{agent_id} shows no running task")


async def test_cancelled_task_never_completes(api, tap, wait_task):
    # Steps of 0.2 s: a task whose work went on would report again within the wait below.
    events = await tap("task.*")
    task_id, _ = await _running_task(api, events, wait_task, {"delay": 0.6, "steps": 3})

    assert (await api.delete(f"/tasks/{task_id}")).status_code == 200
    await events.wait_for_type("task.cancelled", task_id=task_id)
    later = (
        await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 1}})
    ).json()["task_id"]
    await events.wait_for_type("task.completed", task_id=later)

    life = [e["type"] for e in events.of("task_id", task_id)]
    assert life[-1] == "task.cancelled", life
    assert "task.completed" not in life and "task.failed" not in life
    assert (await api.get(f"/tasks/{task_id}")).json()["status"] == "cancelled"


async def test_cancel_of_a_completed_task_is_409_conflict(api, wait_task):
    task_id = (await api.post("/tasks", json={"task_type": "echo"})).json()["task_id"]
    await wait_task(task_id, "completed")

    response = await api.delete(f"/tasks/{task_id}")

    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "CONFLICT"
    assert "completed" in error["message"]
    assert error["details"] == {"task_id": task_id, "status": "completed"}
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert (await api.get(f"/tasks/{task_id}")).json()["status"] == "completed"


async def test_second_cancel_is_409_conflict(api, tap, wait_task):
    events = await tap("task.*")
    task_id, _ = await _running_task(api, events, wait_task, {"delay": 30})

    first = await api.delete(f"/tasks/{task_id}")
    second = await api.delete(f"/tasks/{task_id}")

    assert first.status_code == 200
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "CONFLICT"
    assert second.json()["error"]["details"]["status"] == "cancelled"


async def test_cancel_of_an_unknown_task_is_404_not_found(api):
    response = await api.delete("/tasks/task-00000000000000000000000000")

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND"
