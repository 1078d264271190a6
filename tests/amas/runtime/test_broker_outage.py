"""A broker outage, as an outside kill of the embedded nats-server: the node serves reads,
refuses writes fast with 503, starts the server again, records the outage as
system.alert events, and loses no event: JetStream holds every one of them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

import httpx
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from amas.runtime.node import Node
from amas.runtime.relay import STREAM

WAIT = 20.0


def _kill_nats(node: Node) -> int:
    """SIGKILL from outside, as a crash or an operator would: the node is not told."""
    assert node.nats_server is not None and node.nats_server.pid is not None
    pid = node.nats_server.pid
    os.kill(pid, signal.SIGKILL)
    return pid


async def _alerts(node: Node) -> list[tuple[str, bool]]:
    """(code, cleared) of each alert in order."""
    events = await node.store.read_stream("system")
    return [(e.data.code, e.data.cleared) for e in events if e.type == "system.alert"]


async def test_a_killed_nats_server_is_restarted_and_the_outage_recorded(
    api: httpx.AsyncClient, node: Node, eventually, wait_task
) -> None:
    before = (await api.post("/tasks", json={"task_type": "echo"})).json()["task_id"]
    await wait_task(before, "completed")
    old_pid = _kill_nats(node)

    reads = await api.get(f"/tasks/{before}")  # reads come from projections: still served
    assert reads.status_code == 200 and reads.json()["status"] == "completed"

    async def restarted() -> bool:
        return node.bus.connected and node.nats_server.pid not in (None, old_pid)

    await eventually(restarted, "the node starts its nats-server again", timeout=WAIT)
    await eventually(lambda: _has(node, ("NATS_DOWN", True)), "the recovery is recorded")
    # The restart's alert is written once the server is up again, the recovery's once the
    # client has reconnected: either may come first.
    await eventually(lambda: _has(node, ("NATS_RESTARTED", False)), "the restart is recorded")
    alerts = await _alerts(node)
    assert alerts.index(("NATS_DOWN", False)) < alerts.index(("NATS_DOWN", True))

    after = await api.post("/tasks", json={"task_type": "echo", "parameters": {"n": 2}})
    assert after.status_code == 201, after.text
    assert (await wait_task(after.json()["task_id"], "completed"))["status"] == "completed"


async def _has(node: Node, alert: tuple[str, bool]) -> bool:
    return alert in await _alerts(node)


async def test_writes_get_503_at_once_while_nats_is_down(
    api: httpx.AsyncClient, node: Node, eventually
) -> None:
    assert node.nats_server is not None
    await node.nats_server.stop()  # stopped on purpose: the node does not start it again
    await eventually(lambda: not node.bus.connected, "the node notices the outage")
    try:
        async with asyncio.timeout(2.0):  # bounded: never the 5 s command timeout, never hung
            refused = await api.post("/tasks", json={"task_type": "echo"})
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE"
        assert error["details"]["reason"] == "not connected to NATS"
        assert (await api.get("/tasks")).status_code == 200
        assert (await api.get("/agents")).status_code == 200
    finally:
        await node.nats_server.start()
    await eventually(lambda: node.bus.connected, "the node reconnects by itself", timeout=WAIT)
    assert (await api.post("/tasks", json={"task_type": "echo"})).status_code == 201


async def test_work_in_flight_finishes_after_the_broker_comes_back(
    api: httpx.AsyncClient, node: Node, eventually, wait_task
) -> None:
    """A task running when NATS dies reports its result once NATS is back."""
    submitted = await api.post(
        "/tasks", json={"task_type": "echo", "parameters": {"delay": 1.5, "steps": 3}}
    )
    task_id = submitted.json()["task_id"]
    await wait_task(task_id, "in_progress")
    _kill_nats(node)
    task = await wait_task(task_id, "completed", "failed", timeout=WAIT)
    assert task["status"] == "completed", task
    assert task["attempt"] == 1


async def test_a_jetstream_subscriber_misses_no_event_across_a_broker_kill(
    api: httpx.AsyncClient, node: Node, eventually
) -> None:
    received: dict[str, dict[str, Any]] = {}

    async def subscribe() -> Any:
        nc = await nats.connect(node.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream()

        async def on_message(msg: Any) -> None:
            envelope = json.loads(msg.data)
            received[envelope["event_id"]] = envelope
            await msg.ack()

        await js.subscribe(
            "task.*",
            stream=STREAM,
            durable="outage-test",
            cb=on_message,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_wait=2.0),
        )
        return nc

    nc = await subscribe()
    try:
        submitted: list[str] = []

        async def submit_some(n: int) -> None:
            for _ in range(n):
                response = await api.post("/tasks", json={"task_type": "echo"})
                if response.status_code == 201:
                    submitted.append(response.json()["task_id"])

        await submit_some(20)
        _kill_nats(node)
        await submit_some(10)  # refused or accepted: only what the log holds counts
        await eventually(lambda: node.bus.connected, "back", timeout=WAIT)
        await submit_some(20)

        async def everything_arrived() -> bool:
            log = [e for e in await node.store.read_all(1, 100_000) if e.type.startswith("task.")]
            return {e.event_id for e in log} <= received.keys()

        await eventually(
            everything_arrived,
            "every task.* event of the log reaches the durable subscriber",
            timeout=WAIT,
        )
        assert len(submitted) >= 40
    finally:
        await nc.close()
