"""When the node's nats-server goes away, health says so; when it is back, work goes on."""

from __future__ import annotations

import asyncio
import gc

from amas.runtime.nats_server import EmbeddedNatsServer, free_port

WAIT = 15.0


async def _health_until(api, status):
    async with asyncio.timeout(WAIT):
        while True:
            response = await api.get("/health")
            if response.json()["status"] == status:
                return response
            await asyncio.sleep(0.05)


async def test_health_is_degraded_while_nats_is_down_and_healthy_again_after(api, node, wait_task):
    await node.nats_server.stop()

    down = await _health_until(api, "degraded")
    await node.nats_server.start()
    up = await _health_until(api, "healthy")

    assert down.status_code == 503
    assert down.json()["services"]["nats"] == "down"
    assert up.status_code == 200
    task_id = (await api.post("/tasks", json={"task_type": "echo"})).json()["task_id"]
    assert (await wait_task(task_id, "completed", timeout=WAIT))["status"] == "completed"


async def test_nats_server_can_be_killed_and_started_again_without_leaking(tmp_path):
    server = EmbeddedNatsServer(tmp_path / "nats", free_port())
    await server.start()
    first = server.pid

    server.kill()
    await server.start()  # the first process's stderr pipe must be closed by now
    try:
        assert server.running() and server.pid != first
        gc.collect()  # filterwarnings=error turns an unclosed pipe into a failure
    finally:
        await server.stop()
