"""A task's whole life over HTTP, as a client and as a NATS subscriber see it.

The tests share one node (each submits and reads tasks of its own; one left running is
cancelled), but for the agent's track record, which counts every task of the agent.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from amas.runtime.node import Node
from events.projections.tasks import TasksProjection
from tests.conftest import serving, task_waiter

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def api(shared_api):
    return shared_api


@pytest.fixture
def nats_client(shared_nats_client):
    return shared_nats_client


LIFE = ["task.created", "task.started", "task.progress", "task.progress", "task.completed"]


async def test_submitted_echo_task_is_queued_and_answered_with_an_estimate(api):
    response = await api.post(
        "/tasks", json={"task_type": "echo", "parameters": {"message": "hi", "steps": 2}}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["task_id"].startswith("task-")
    assert body["status"] == "queued"
    assert datetime.fromisoformat(body["estimated_completion"]).tzinfo is not None
    agents = {a["id"] for a in (await api.get("/agents")).json()["agents"]}
    assert body["assigned_agents"]
    assert set(body["assigned_agents"]) <= agents


async def test_task_is_readable_right_after_submit(api):
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 0.5}})
    task_id = response.json()["task_id"]

    task = await api.get(f"/tasks/{task_id}")  # no wait: the POST answered after the projection

    assert task.status_code == 200, task.text
    assert task.json()["task_id"] == task_id
    assert task.json()["task_type"] == "echo"
    assert task.json()["status"] in {"queued", "in_progress"}
    await api.delete(f"/tasks/{task_id}")  # a node stopping with work in hand waits for it


async def test_subscriber_sees_the_whole_life_of_a_task_in_log_order(api, tap):
    events = await tap("task.*")

    response = await api.post(
        "/tasks", json={"task_type": "echo", "parameters": {"message": "hi", "steps": 2}}
    )
    task_id = response.json()["task_id"]
    await events.wait_for_type("task.completed", task_id=task_id)

    life = events.of("task_id", task_id)
    assert [e["type"] for e in life] == LIFE
    assert all(e["stream"] == task_id for e in life)  # the id is "task-<ulid>"
    # Version 2 is the decision engine's ml.decision, on its own subject (ml.decision).
    assert [e["version"] for e in life] == [1, 3, 4, 5, 6]
    positions = [e["position"] for e in life]
    assert positions == sorted(set(positions)), positions
    headers = [h for e, h in zip(events.events, events.headers, strict=True) if e in life]
    assert [h.get("Nats-Msg-Id") for h in headers] == [e["event_id"] for e in life]
    progress = [e["data"]["progress"] for e in life if e["type"] == "task.progress"]
    assert progress == sorted(progress) and all(0 <= p < 100 for p in progress)
    assert life[-1]["data"]["result"] == {"echo": {"message": "hi", "steps": 2}}


async def test_a_task_seen_completed_on_nats_reads_completed_over_http(api, tap, monkeypatch):
    # The tasks read model is held back 0.3 s on each completion: a subscriber has the
    # event well before the row has it, and a read must still see what the log says.
    fold = TasksProjection.fold

    def slow_fold(self: TasksProjection, row: Any, event: Any) -> Any:
        if event.type == "task.completed":
            time.sleep(0.3)
        return fold(self, row, event)

    monkeypatch.setattr(TasksProjection, "fold", slow_fold)
    events = await tap("task.completed")
    task_id = (await api.post("/tasks", json={"task_type": "echo"})).json()["task_id"]
    await events.wait_for_type("task.completed", task_id=task_id)

    task = await api.get(f"/tasks/{task_id}")
    results = await api.get(f"/tasks/{task_id}/results")

    assert task.json()["status"] == "completed", task.text
    assert results.json()["status"] == "completed", results.text


async def test_completed_task_reports_full_progress_and_its_results(api, wait_task):
    parameters = {"message": "hi", "steps": 2}
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})
    task_id = response.json()["task_id"]

    task = await wait_task(task_id, "completed", "failed", "cancelled")

    assert task["status"] == "completed"
    assert task["progress"] == 100
    assert task["error"] is None
    assert task["attempt"] == 1
    assert task["started_at"] <= task["completed_at"]
    [(agent_id, agent)] = task["agents"].items()
    assert agent == {"status": "completed", "progress": 100}
    assert agent_id in response.json()["assigned_agents"]
    results = await api.get(f"/tasks/{task_id}/results")
    assert results.status_code == 200
    assert results.json()["status"] == "completed"
    assert results.json()["completed_at"] == task["completed_at"]
    assert results.json()["results"] == {"echo": parameters}


async def test_results_of_an_unfinished_task_are_empty(api, wait_task):
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"delay": 30}})
    task_id = response.json()["task_id"]
    await wait_task(task_id, "in_progress")

    results = await api.get(f"/tasks/{task_id}/results")

    assert results.status_code == 200
    assert results.json()["status"] == "in_progress"
    assert results.json()["results"] is None
    assert results.json()["completed_at"] is None
    assert (await api.delete(f"/tasks/{task_id}")).status_code == 200


async def test_agent_track_record_counts_completed_tasks(node_config):
    async with Node(node_config) as node, serving(node) as api:  # no task before this one
        response = await api.post("/tasks", json={"task_type": "echo"})
        task = await task_waiter(api)(response.json()["task_id"], "completed")
        [agent_id] = task["agents"]

        agent = (await api.get(f"/agents/{agent_id}")).json()

    assert agent["performance"]["tasks_completed"] == 1
    assert agent["performance"]["success_rate"] == 1.0
    assert agent["performance"]["running_tasks"] == 0
