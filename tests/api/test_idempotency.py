"""Idempotency-Key: a retry with the same key and body returns the first answer and creates
nothing; the same key with another body is 409. Over real HTTP, across a restart.

The tests share one node (each uses Idempotency-Keys, tasks and API keys of its own), but
for the restart's, which has nodes of its own.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from amas.runtime.node import Node, NodeConfig
from tests.api.support import as_key, assert_envelope, make_key
from tests.conftest import serving

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node: Node) -> Node:
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


TASK = {"task_type": "echo", "parameters": {"message": "once"}, "priority": "high"}


def _idem(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def _created(node: Node, task_id: str) -> int:
    return sum(e.type == "task.created" for e in await node.store.read_stream(task_id))


async def test_a_retried_submit_returns_the_first_answer_and_creates_nothing(
    api: httpx.AsyncClient, node: Node
) -> None:
    first = await api.post("/tasks", json=TASK, headers=_idem("order-1"))
    assert first.status_code == 201, first.text
    before = (await api.get("/tasks")).json()["total"]

    again = await api.post("/tasks", json=TASK, headers=_idem("order-1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert (await api.get("/tasks")).json()["total"] == before
    assert await _created(node, first.json()["task_id"]) == 1

    other = await api.post("/tasks", json=TASK, headers=_idem("order-2"))
    plain = await api.post("/tasks", json=TASK)
    assert len({first.json()["task_id"], other.json()["task_id"], plain.json()["task_id"]}) == 3


async def test_the_same_key_with_another_body_is_409(api: httpx.AsyncClient) -> None:
    first = await api.post("/tasks", json=TASK, headers=_idem("k-9"))
    assert first.status_code == 201, first.text
    first_id = first.json()["task_id"]
    changed = {**TASK, "priority": "low"}
    error = assert_envelope(
        await api.post("/tasks", json=changed, headers=_idem("k-9")), 409, "CONFLICT"
    )
    assert "Idempotency-Key" in error["message"]
    assert error["details"] == {"idempotency_key": "k-9", "task_id": first_id}
    # Key order and spacing are not a different request.
    reordered = '{"priority": "high", "parameters": {"message": "once"}, "task_type": "echo"}'
    again = await api.post(
        "/tasks", content=reordered, headers={**_idem("k-9"), "content-type": "application/json"}
    )
    assert again.status_code == 201, again.text


async def test_concurrent_retries_make_one_task(api: httpx.AsyncClient, node: Node) -> None:
    answers = await asyncio.gather(
        *(api.post("/tasks", json=TASK, headers=_idem("burst")) for _ in range(8))
    )
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["task_id"] for a in answers}) == 1
    assert await _created(node, answers[0].json()["task_id"]) == 1


async def test_keys_are_per_api_key(api: httpx.AsyncClient) -> None:
    other = as_key((await make_key(api, ["read", "write"], tier="pro"))["api_key"])
    mine = await api.post("/tasks", json=TASK, headers=_idem("shared-name"))
    theirs = await api.post("/tasks", json=TASK, headers={**_idem("shared-name"), **other})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["task_id"] != theirs.json()["task_id"]


async def test_a_bad_idempotency_key_is_400(api: httpx.AsyncClient) -> None:
    for bad in ("has space", "x" * 201, ""):
        error = assert_envelope(
            await api.post("/tasks", json=TASK, headers=_idem(bad)), 400, "INVALID_PARAMETER"
        )
        assert error["details"]["parameter"] == "Idempotency-Key"


async def test_a_retry_after_a_restart_still_gets_the_first_answer(node_config: NodeConfig) -> None:
    async with Node(node_config) as node, serving(node) as api:
        first = await api.post("/tasks", json=TASK, headers=_idem("across-restart"))
        made = await api.post("/api-keys", json={"name": "idem"}, headers=_idem("key-1"))
        assert first.status_code == made.status_code == 201
    async with Node(node_config) as node, serving(node) as api:
        again = await api.post("/tasks", json=TASK, headers=_idem("across-restart"))
        assert again.status_code == 201 and again.json() == first.json()
        assert await _created(node, first.json()["task_id"]) == 1
        key_again = await api.post("/api-keys", json={"name": "idem"}, headers=_idem("key-1"))
        assert key_again.status_code == 201
        body = key_again.json()
        assert body["key_id"] == made.json()["key_id"] and body["api_key"] is None
        assert "shown to that request only" in body["message"]


async def test_a_retried_key_creation_makes_one_key(api: httpx.AsyncClient, node: Node) -> None:
    first = await api.post(
        "/api-keys", json={"name": "ci", "tier": "basic"}, headers=_idem("make-ci-key")
    )
    assert first.status_code == 201, first.text
    again = await api.post(
        "/api-keys", json={"name": "ci", "tier": "basic"}, headers=_idem("make-ci-key")
    )
    assert again.status_code == 201 and again.json() == first.json()  # the secret too
    listed = [k for k in (await api.get("/api-keys")).json()["api_keys"] if k["name"] == "ci"]
    assert len(listed) == 1
    error = assert_envelope(
        await api.post(
            "/api-keys", json={"name": "ci", "tier": "pro"}, headers=_idem("make-ci-key")
        ),
        409,
        "CONFLICT",
    )
    assert error["details"] == {"idempotency_key": "make-ci-key", "key_id": first.json()["key_id"]}


async def test_two_different_requests_racing_on_one_key_get_one_task_and_the_same_409(
    api: httpx.AsyncClient,
) -> None:
    # Sent at once, the loser is refused either at the edge (the winner's row is read)
    # or by the task manager (the winner's event is in the log): the same answer.
    for n in range(8):
        bodies = [{**TASK, "parameters": {"message": f"{n}-{i}"}} for i in range(2)]
        answers = await asyncio.gather(
            *(api.post("/tasks", json=b, headers=_idem(f"race-{n}")) for b in bodies)
        )
        [won] = [a for a in answers if a.status_code == 201]
        [lost] = [a for a in answers if a.status_code != 201]
        error = assert_envelope(lost, 409, "CONFLICT")
        made = won.json()["task_id"]
        assert error["details"] == {"idempotency_key": f"race-{n}", "task_id": made}


async def test_a_retried_rotation_rotates_once(api: httpx.AsyncClient, node: Node) -> None:
    made = await make_key(api, ["read"])
    first = await api.post(f"/api-keys/{made['key_id']}/rotate", headers=_idem("rot-1"))
    again = await api.post(f"/api-keys/{made['key_id']}/rotate", headers=_idem("rot-1"))
    assert first.status_code == again.status_code == 200
    assert again.json()["api_key"] == first.json()["api_key"]
    assert (await api.get("/tasks", headers=as_key(first.json()["api_key"]))).status_code == 200
    rotations = [
        e
        for e in await node.store.read_stream(f"apikey-{made['key_id']}")
        if e.type == "apikey.rotated"
    ]
    assert len(rotations) == 1
    newer = await api.post(f"/api-keys/{made['key_id']}/rotate", headers=_idem("rot-2"))
    assert newer.json()["api_key"] != first.json()["api_key"]
