"""The workflow engine on a real node, with a small workflow of its own: steps recorded
as events, child tasks and AI answers made once even when a step runs again after a
restart, retries with their delays, cancel, logs and the read model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.providers.router import RouterSettings
from actors.workflows.steps import RetryPolicy, Step, StepContext, WorkflowDef
from amas.runtime.node import Node, NodeConfig
from events.commands import TRIGGER_WORKFLOW, TriggerWorkflow
from tests.api.vendors import Vendors, config_with
from tests.conftest import serving


class Params(msgspec.Struct, frozen=True, kw_only=True):
    message: str = "hello"
    fail_first: bool = False


class Worked(msgspec.Struct, frozen=True, kw_only=True):
    task_ids: list[str]
    echoed: list[Any]


class Thought(msgspec.Struct, frozen=True, kw_only=True):
    provider: str | None
    content: str


class Waited(msgspec.Struct, frozen=True, kw_only=True):
    runs: int


GATE: dict[str, Any] = {"open": asyncio.Event(), "runs": 0, "failures": 0}


async def work(context: StepContext, params: Params) -> Worked:
    rows = await context.tasks([("echo", {"message": params.message}), ("echo", {"n": 2})])
    return Worked(task_ids=[r["task_id"] for r in rows], echoed=[r["result"] for r in rows])


async def think(context: StepContext, params: Params) -> Thought:
    answer = await context.ask("q", [{"role": "user", "content": params.message}])
    await context.log("info", f"answered by {answer.provider}")
    return Thought(provider=answer.provider, content=answer.content)


async def wait(context: StepContext, params: Params) -> Waited:
    GATE["runs"] += 1
    if params.fail_first and GATE["failures"] == 0:
        GATE["failures"] += 1
        raise RuntimeError("first attempt fails")
    await GATE["open"].wait()
    return Waited(runs=GATE["runs"])


PROBE: WorkflowDef[Params] = WorkflowDef(
    workflow_type="probe",
    params=Params,
    layers=("one", "two"),
    steps=(
        Step("work", "one", work, Worked),
        Step("think", "two", think, Thought),
        Step("wait", "two", wait, Waited, RetryPolicy(attempts=3, initial=0.05)),
    ),
    result=lambda params, outputs: {"outputs": outputs},
)


@pytest.fixture(autouse=True)
def gate() -> None:
    GATE.update(open=asyncio.Event(), runs=0, failures=0)


def _config(vendors: Vendors, root: Path) -> NodeConfig:
    config = config_with(vendors, root)
    config.workflows = {"probe": PROBE}
    config.router = RouterSettings(retry_budget=3.0, backoff_base=0.01, backoff_cap=0.05)
    return config


async def _trigger(node: Node, **parameters: Any) -> str:
    """The engine's own command, as the API's triggers send it."""
    command = TriggerWorkflow(workflow_type="probe", parameters=parameters)
    reply = await node.bus.request(TRIGGER_WORKFLOW, command)
    assert reply.ok, reply
    return str(reply.data["workflow_id"])


async def _until(api: Any, workflow_id: str, *statuses: str, timeout: float = 15.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await api.get(f"/workflows/{workflow_id}")).json()
        if body["status"] in statuses:
            return dict(body)
        assert asyncio.get_running_loop().time() < deadline, body
        await asyncio.sleep(0.05)


async def _step_ran(api: Any, workflow_id: str, step: str) -> None:
    for _ in range(300):
        body = (await api.get(f"/workflows/{workflow_id}")).json()
        if body["steps"][step]["status"] == "running":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{step} never started: {body}")


async def test_a_workflow_runs_its_steps_as_events_and_completes(tmp_path, vendors):
    GATE["open"].set()
    async with Node(_config(vendors, tmp_path)) as node, serving(node) as api:
        workflow_id = await _trigger(node, message="hi there")
        body = await _until(api, workflow_id, "completed", "failed")
        events = await node.store.read_stream(f"workflow-{workflow_id}")
        logs = (await api.get(f"/workflows/{workflow_id}/logs")).json()

    assert body["status"] == "completed", body
    assert body["progress"] == 100
    assert body["layers"] == {"layer1_one": "completed", "layer2_two": "completed"}
    assert body["workflow_type"] == "probe"
    assert body["ai_providers_used"] == ["deepseek"]
    outputs = body["results"]["outputs"]
    assert outputs["work"]["task_ids"] == [f"{workflow_id}-work-0", f"{workflow_id}-work-1"]
    assert outputs["work"]["echoed"][0]["echo"] == {"message": "hi there"}
    assert outputs["think"]["content"] == "Hello from the fake vendor."
    types = [e.type for e in events]
    assert types[0] == "workflow.started" and types[-1] == "workflow.completed"
    assert types.count("workflow.step_completed") == 3
    assert "workflow.ai_answered" in types
    messages = [line["message"] for line in logs["logs"]]
    assert "answered by deepseek" in messages
    assert any(m.startswith("work completed in") for m in messages)


async def test_a_restart_resumes_at_the_step_under_way_and_repeats_nothing(tmp_path, vendors):
    config = _config(vendors, tmp_path)
    async with Node(config) as node, serving(node) as api:
        workflow_id = await _trigger(node)
        await _step_ran(api, workflow_id, "wait")
    calls, runs = vendors.calls(), GATE["runs"]
    assert calls["deepseek"] == 1 and runs == 1

    GATE["open"].set()
    async with Node(config) as node, serving(node) as api:
        body = await _until(api, workflow_id, "completed", "failed")
        listed = (await api.get("/tasks", params={"task_type": "echo"})).json()
    assert body["status"] == "completed", body
    assert vendors.calls() == calls  # the recorded answer was reused
    assert GATE["runs"] == 2  # only the step under way ran again
    assert listed["total"] == 2  # the child tasks were not made twice
    assert body["steps"]["wait"]["attempts"] == 2


async def test_a_failed_step_is_retried_after_its_delay(tmp_path, vendors):
    GATE["open"].set()
    async with Node(_config(vendors, tmp_path)) as node, serving(node) as api:
        workflow_id = await _trigger(node, fail_first=True)
        body = await _until(api, workflow_id, "completed", "failed")
        events = await node.store.read_stream(f"workflow-{workflow_id}")
    assert body["status"] == "completed"
    [failed] = [e.data for e in events if e.type == "workflow.step_failed"]
    assert (failed.step, failed.attempt, failed.retry_in) == ("wait", 1, 0.05)


async def test_cancel_stops_the_workflow(tmp_path, vendors):
    async with Node(_config(vendors, tmp_path)) as node, serving(node) as api:
        workflow_id = await _trigger(node)
        await _step_ran(api, workflow_id, "wait")
        cancelled = await api.delete(f"/workflows/{workflow_id}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        again = await api.delete(f"/workflows/{workflow_id}")
        body = (await api.get(f"/workflows/{workflow_id}")).json()
    assert again.status_code == 409
    assert body["layers"]["layer2_two"] == "cancelled"
    assert GATE["runs"] == 1


async def test_an_unknown_workflow_is_404_workflow_not_found(tmp_path, vendors):
    async with Node(_config(vendors, tmp_path)) as node, serving(node) as api:
        response = await api.get("/workflows/orchestrator-nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "WORKFLOW_NOT_FOUND"
