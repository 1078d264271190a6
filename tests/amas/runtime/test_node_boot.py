"""Starting a node: ready means its read models know its agents; a restart resumes work."""

from __future__ import annotations

import asyncio

from amas.runtime.nats_server import free_port
from amas.runtime.node import Node
from events.commands import CANCEL_TASK, SUBMIT_TASK, CancelTask, SubmitTask
from events.queries.agents import list_agents
from events.queries.tasks import get_task


async def test_started_node_already_shows_all_its_agents(node):
    # No wait on purpose: the API answers from these rows as soon as the node is up.
    agents = await list_agents(node.reader)

    assert len(agents) == 8, [a["agent_id"] for a in agents]
    assert node.projections.position() >= node.store.head


async def _task_status(node, task_id, *statuses, timeout=10.0):
    async with asyncio.timeout(timeout):
        while True:
            task = await get_task(node.reader, task_id)
            if task is not None and task["status"] in statuses:
                return task
            await asyncio.sleep(0.02)


async def test_restarted_node_requeues_the_task_its_predecessor_was_running(node_config):
    async with Node(node_config) as first:
        reply = await first.bus.request(
            SUBMIT_TASK, SubmitTask(task_type="echo", parameters={"delay": 30})
        )
        task_id = reply.data["task_id"]
        await _task_status(first, task_id, "in_progress")

    node_config.nats_port = free_port()
    async with Node(node_config) as second:
        task = await _task_status(second, task_id, "in_progress")
        log = [e for e in await second.store.read_all() if e.stream == task_id]
        await second.bus.request(CANCEL_TASK, CancelTask(task_id=task_id))

    assert [e.type for e in log] == [
        "task.created",
        "ml.decision",  # each start with the decision engine's choice
        "task.started",
        "task.requeued",
        "ml.decision",
        "task.started",
    ]
    assert log[3].data.reason == "node restarted"
    assert task["attempt"] == 2
    assert log[5].data.attempt == 2


async def test_restarted_node_still_answers_for_finished_tasks(node_config):
    async with Node(node_config) as first:
        reply = await first.bus.request(
            SUBMIT_TASK, SubmitTask(task_type="echo", parameters={"n": 7})
        )
        task_id = reply.data["task_id"]
        await _task_status(first, task_id, "completed")

    node_config.nats_port = free_port()
    async with Node(node_config) as second:
        task = await get_task(second.reader, task_id)
        agents = await list_agents(second.reader)

    assert task["status"] == "completed"
    assert task["result"] == {"echo": {"n": 7}}
    assert sum(a["tasks_completed"] for a in agents) == 1
