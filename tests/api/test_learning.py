"""The decision engine and the optimizer on a running node.

Decisions are events and the model is a projection: the live scheduler's model, the
read model and a fold of the log from scratch agree, and a rebuild gives the same.
The optimizer's `advise` changes nothing; its actions stay inside the operator's limits
and go through the normal commands; result caching serves a repeated task's result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
import pytest_asyncio

from actors.learning.settings import ConcurrencyLimits, LearningSettings
from amas.runtime.node import Node
from events.envelope import Meta
from events.learning import Model, model_encoder
from events.queries import learning as queries
from events.store import ANY_VERSION
from events.types import OptimizerActed
from tests.conftest import fresh_config, serving, task_waiter

pytestmark = pytest.mark.asyncio(loop_scope="module")

Wait = Callable[..., Any]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Node]:
    config = fresh_config(tmp_path_factory.mktemp("node"))
    config.learning = LearningSettings(
        scheduler="learned",
        exploration=0.1,
        optimizer="advise",
        optimizer_every=3600,  # rounds are run by the tests
        limits={"osint": ConcurrencyLimits(2, 6)},
    )
    async with Node(config) as node:
        node.optimizer.episodes = 8  # enough to act on; the benchmark trains the full rounds
        yield node


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(node) as client:
        yield client


async def run_echoes(api: httpx.AsyncClient, count: int, **parameters: Any) -> list[str]:
    wait = task_waiter(api)
    ids = []
    for n in range(count):
        response = await api.post(
            "/tasks",
            json={"task_type": "echo", "parameters": {"n": n, **parameters}},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["task_id"])
    for task_id in ids:
        await wait(task_id, "completed")
    return ids


async def test_every_start_carries_its_decision_and_the_status_counts_them(
    api: httpx.AsyncClient, node: Node
) -> None:
    ids = await run_echoes(api, 24, delay=0.02)
    await node.projections.wait_for(node.store.head)
    log = await node.store.read_all()
    decisions = [e for e in log if e.type == "ml.decision" and e.data.task_id in ids]
    starts = [e for e in log if e.type == "task.started" and e.data.task_id in ids]
    assert len(decisions) == len(starts) == len(ids)
    for decision, start in zip(decisions, starts, strict=True):
        assert (decision.stream, decision.version + 1) == (start.stream, start.version)
        assert decision.data.agent_id == start.data.agent_id

    status = (await api.get("/ml/decision-engine/status")).json()
    assert status["status"] == "active"
    metrics = status["metrics"]
    assert metrics["predictions_made"] == sum(e.type == "ml.decision" for e in log)
    assert int(status["model_version"]) >= 1
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["predictions_judged"] > 0
    assert 0 < metrics["avg_decision_time"] < 0.05
    assert metrics["explored"] <= 0.1 * metrics["predictions_made"]
    recent = status["recent_decisions"]
    assert recent[0]["task_id"] == ids[-1]
    assert recent[0]["decision"] == "allocate_to_" + recent[0]["agent_id"].replace("-", "_")
    assert recent[0]["factors"] == ["task_type", "agent_availability", "performance_history"]
    assert set(recent[0]["factor_values"]["agent_availability"]) == set(
        node.fleet.agents_for("echo")
    )


async def test_the_live_model_the_read_model_and_a_replay_are_the_same(node: Node) -> None:
    await node.projections.wait_for(node.store.head)
    await asyncio.sleep(0.2)  # the scheduler follows the same log
    stored = await queries.model(node.reader)

    replayed = Model()
    for event in await node.store.read_all():
        replayed.apply(event)

    encode = model_encoder.encode
    assert encode(replayed) == encode(stored) == encode(await node.fleet.live_model())

    status = await queries.decision_engine_status(node.reader, "learned", 0.1)
    await node.projections.stop()
    await node.projections.rebuild(["learning"])
    node.projections.start()
    assert encode(await queries.model(node.reader)) == encode(stored)
    assert await queries.decision_engine_status(node.reader, "learned", 0.1) == status


async def test_advise_recommends_and_changes_nothing(api: httpx.AsyncClient, node: Node) -> None:
    await run_echoes(api, 30, delay=0.1)
    before = {a: s.max_concurrent_tasks for a, s in node.fleet.specs.items()}
    head = node.store.head

    done = await node.optimizer.round()

    assert done is not None
    result = done.result
    await node.projections.wait_for(node.store.head)
    written = [e for e in await node.store.read_all() if e.position > head]
    assert {e.type for e in written} <= {"rl.trained", "rl.action"}
    assert written[0].type == "rl.trained"
    assert all(not e.data.applied for e in written if e.type == "rl.action")
    assert {a: s.max_concurrent_tasks for a, s in node.fleet.specs.items()} == before

    status = (await api.get("/rl/optimizer/status")).json()
    assert status["status"] == "advising"
    assert status["environment"] == "amas_gym_v1"
    assert status["metrics"]["episodes_completed"] == result.episodes
    assert status["metrics"]["optimization_actions_taken"] == 0
    assert status["metrics"]["performance_improvement"] == round(result.improvement, 4)
    assert status["current_policy"]["exploration_rate"] == result.exploration_rate
    assert status["last_training"]["workload"]["types"]["echo"]["arrival_rate"] > 0


async def test_an_operator_applies_a_recommendation_once(
    api: httpx.AsyncClient, node: Node
) -> None:
    recommended = OptimizerActed(
        action_id="opt-test-1",
        action="scale_up_workers",
        target="osint",
        applied=False,
        value=6,
        expected_reward=0.8,
    )
    await node.store.append("optimizer", ANY_VERSION, [recommended], Meta(actor="optimizer"))
    await node.projections.wait_for(node.store.head)
    osint = [s.agent_id for s in node.fleet.specs.values() if s.agent_type == "osint"]

    response = await api.post("/rl/optimizer/actions/opt-test-1/apply")

    assert response.status_code == 200, response.text
    applied = response.json()
    assert (applied["by"], applied["applied"], applied["recommendation"]) == (
        "operator",
        True,
        "opt-test-1",
    )
    await asyncio.sleep(0.1)
    assert {node.fleet.specs[a].max_concurrent_tasks for a in osint} == {6}
    again = await api.post("/rl/optimizer/actions/opt-test-1/apply")
    assert again.status_code == 409
    assert again.json()["error"]["details"]["action_id"] == applied["action_id"]
    missing = await api.post("/rl/optimizer/actions/opt-nothing/apply")
    assert missing.status_code == 404

    # Judged once its window has passed (here: the clock moved on), from the log.
    await node.optimizer.judge(time.time() + 11 * node.optimizer.window)
    await node.projections.wait_for(node.store.head)
    [judged] = await queries.optimizer_actions(node.reader, 1, applied["action_id"])
    assert isinstance(judged["reward"], float)
    assert "throughput" in judged["impact"] or "latency" in judged["impact"]
    rewards = [e for e in await node.store.read_all() if e.type == "rl.reward"]
    assert [e.data.action_id for e in rewards] == [applied["action_id"]]
    await node.optimizer.judge(time.time() + 12 * node.optimizer.window)  # not again
    assert len([e for e in await node.store.read_all() if e.type == "rl.reward"]) == 1
    assert await node.optimizer.apply("scale_down_workers", "osint", 5)
    await asyncio.sleep(0.1)


async def test_actions_stay_inside_the_limits_and_use_the_agents_commands(node: Node) -> None:
    optimizer = node.optimizer
    osint = [s.agent_id for s in node.fleet.specs.values() if s.agent_type == "osint"]

    assert not await optimizer.apply("scale_up_workers", "osint", 7)  # limit: 2-6
    assert not await optimizer.apply("scale_down_workers", "osint", 1)
    assert {node.fleet.specs[a].max_concurrent_tasks for a in osint} == {5}

    assert await optimizer.apply("scale_up_workers", "osint", 6)
    await node.projections.wait_for(node.store.head)
    await asyncio.sleep(0.1)
    assert {node.fleet.specs[a].max_concurrent_tasks for a in osint} == {6}
    configured = [e for e in await node.store.read_all() if e.type == "agent.configured"]
    assert {e.data.agent_id for e in configured[-len(osint) :]} == set(osint)
    assert all(e.meta.actor == "optimizer" for e in configured[-len(osint) :])
    assert await optimizer.apply("scale_down_workers", "osint", 5)


async def test_an_act_round_applies_its_choice_within_the_limits(node: Node) -> None:
    optimizer = node.optimizer
    optimizer.settings = replace(optimizer.settings, optimizer="act")
    try:
        head = node.store.head
        assert await optimizer.round() is not None
        await node.projections.wait_for(node.store.head)
        acted = [
            e for e in await node.store.read_all() if e.position > head and e.type == "rl.action"
        ]
        for action in acted:
            assert action.data.applied
            if action.data.target == "osint" and isinstance(action.data.value, int):
                assert 2 <= action.data.value <= 6
        osint = [s for s in node.fleet.specs.values() if s.agent_type == "osint"]
        assert all(2 <= s.max_concurrent_tasks <= 6 or s.max_concurrent_tasks == 5 for s in osint)
    finally:
        optimizer.settings = replace(optimizer.settings, optimizer="advise")


async def test_with_caching_on_a_repeated_task_gets_the_first_ones_result(
    api: httpx.AsyncClient, node: Node
) -> None:
    assert await node.optimizer.apply("enable_caching", "echo", True)
    await node.projections.wait_for(node.store.head)
    await asyncio.sleep(0.1)
    wait = task_waiter(api)
    parameters = {"message": "same", "delay": 0.5}
    first = (await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})).json()
    await wait(first["task_id"], "completed")
    await node.projections.wait_for(node.store.head)
    second = (await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})).json()
    await wait(second["task_id"], "completed")

    results = [(await api.get(f"/tasks/{t['task_id']}/results")).json() for t in (first, second)]
    assert results[0]["results"] == results[1]["results"] == {"echo": parameters}
    [completed] = [
        e
        for e in await node.store.read_all()
        if e.type == "task.completed" and e.data.task_id == second["task_id"]
    ]
    assert completed.data.cached_from == first["task_id"]
    assert completed.data.cache_key

    assert await node.optimizer.apply("disable_caching", "echo", False)
    await node.projections.wait_for(node.store.head)
    await asyncio.sleep(0.1)
    third = (await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})).json()
    await wait(third["task_id"], "completed")
    [completed] = [
        e
        for e in await node.store.read_all()
        if e.type == "task.completed" and e.data.task_id == third["task_id"]
    ]
    assert completed.data.cached_from is None
