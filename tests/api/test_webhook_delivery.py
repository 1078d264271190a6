"""Webhook deliveries to receivers the tests start: the seed's payload, the Standard
Webhooks headers verified by the `standardwebhooks` library (an implementation no one
here wrote), retries on the (compressed) schedule, 410 disabling the endpoint, every
attempt an event and a row of GET /webhooks/{id}/deliveries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from actors.webhooks.delivery import standard_secret
from actors.webhooks.guard import parse_allow
from actors.webhooks.signing import seed_signature
from amas.runtime.node import NodeConfig
from tests.conftest import fresh_config
from tests.fakes.webhook_receiver import WebhookReceiver, fail, gone


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    config = fresh_config(tmp_path)
    config.webhook_allow = parse_allow("127.0.0.1/32,localhost")
    config.webhook_schedule = (0.0, 0.05, 0.1, 0.1)
    return config


async def _subscribe(api: Any, url: str, events: list[str]) -> dict[str, Any]:
    made = await api.post("/webhooks", json={"url": url, "events": events})
    assert made.status_code == 201, made.text
    return dict(made.json())


async def _until(check: Any, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not in time")


async def test_a_task_event_is_delivered_signed_as_the_spec_and_the_seed_say(api):
    with WebhookReceiver() as receiver:
        webhook = await _subscribe(api, receiver.url("/hook"), ["task.completed"])
        task = await api.post("/tasks", json={"task_type": "echo", "parameters": {"x": 1}})
        task_id = task.json()["task_id"]
        await _until(lambda: len(receiver.requests) >= 1)
        [request] = receiver.requests

    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    Webhook(webhook["secret"]).verify(request.body, headers)  # raises if forged
    body = json.loads(request.body)
    assert body["event"] == "task.completed"
    assert body["data"]["task_id"] == task_id
    assert body["signature"] == seed_signature(webhook["secret"], body)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(request.body, headers)


async def test_failures_are_retried_on_the_schedule_and_each_attempt_recorded(api):
    with WebhookReceiver() as receiver:
        receiver.script(fail(500), fail(503))
        webhook = await _subscribe(api, receiver.url("/hook"), ["task.*"])
        await api.post("/tasks", json={"task_type": "echo"})

        def retried() -> bool:
            ids = [r.headers["webhook-id"] for r in receiver.requests]
            return len(ids) - len(set(ids)) >= 2

        await _until(retried)
        ids = [r.headers["webhook-id"] for r in receiver.requests]
        events = [r.json()["event"] for r in receiver.requests]
        await asyncio.sleep(0.2)
        deliveries = (await api.get(f"/webhooks/{webhook['id']}/deliveries")).json()

    # created and started failed once each (500, 503) and came again with their id
    assert events[:2] == ["task.created", "task.started"]
    assert ids.count(ids[0]) == 2 and ids.count(ids[1]) == 2
    by_attempts = sorted(d["attempts"] for d in deliveries["deliveries"])
    assert by_attempts[-2:] == [2, 2]
    assert all(d["status"] == "delivered" for d in deliveries["deliveries"])


async def test_a_410_disables_the_webhook(api):
    with WebhookReceiver() as receiver:
        receiver.script(gone())
        webhook = await _subscribe(api, receiver.url("/hook"), ["task.created"])
        await api.post("/tasks", json={"task_type": "echo"})

        async def disabled() -> bool:
            shown = (await api.get(f"/webhooks/{webhook['id']}")).json()
            return shown["enabled"] is False

        for _ in range(200):
            if await disabled():
                break
            await asyncio.sleep(0.05)
        assert await disabled()
        await api.post("/tasks", json={"task_type": "echo"})
        await asyncio.sleep(0.3)
        sent = len(receiver.requests)
    assert sent == 1  # the second task's event went nowhere: the 410 disabled the webhook


async def test_a_secret_the_client_chose_signs_both_ways(api):
    chosen = "your-webhook-secret"
    with WebhookReceiver() as receiver:
        made = await api.post(
            "/webhooks",
            json={"url": receiver.url("/hook"), "events": ["task.created"], "secret": chosen},
        )
        assert made.status_code == 201, made.text
        await api.post("/tasks", json={"task_type": "echo"})
        await _until(lambda: len(receiver.requests) >= 1)
        [request] = receiver.requests
    body = json.loads(request.body)
    assert body["signature"] == seed_signature(chosen, body)
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    Webhook(standard_secret(chosen)).verify(request.body, headers)


async def test_a_replay_and_a_restart_send_nothing_again(node_config: NodeConfig):
    from amas.runtime.node import Node
    from tests.conftest import serving
    from tests.served import run_cli

    with WebhookReceiver() as receiver:
        async with Node(node_config) as node, serving(node) as api:
            await _subscribe(api, receiver.url("/hook"), ["task.*"])
            await api.post("/tasks", json={"task_type": "echo"})
            await _until(lambda: any(r.json()["event"] == "task.completed"
                                     for r in receiver.requests))  # fmt: skip
            await asyncio.sleep(0.3)
        sent = len(receiver.requests)
        replayed = run_cli("events", "replay", "--data-dir", str(node_config.data.root))
        assert replayed.returncode == 0, replayed.stderr
        async with Node(node_config) as node:
            await asyncio.sleep(0.5)
        assert len(receiver.requests) == sent


async def test_narrowing_the_allow_list_stops_deliveries_before_a_packet(
    node_config: NodeConfig,
):
    import socket

    from amas.runtime.node import Node
    from tests.conftest import serving

    outside = socket.socket()
    try:
        outside.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 is not a local address here")
    outside.listen(16)
    outside.setblocking(False)
    port = outside.getsockname()[1]
    try:
        node_config.webhook_allow = parse_allow("127.0.0.0/8")
        async with Node(node_config) as node, serving(node) as api:
            webhook = await _subscribe(api, f"http://127.0.0.2:{port}/hook", ["task.created"])
        node_config.webhook_allow = parse_allow("127.0.0.1/32")  # the operator narrows it
        async with Node(node_config) as node, serving(node) as api:
            await api.post("/tasks", json={"task_type": "echo"})
            for _ in range(100):
                rows = (await api.get(f"/webhooks/{webhook['id']}/deliveries")).json()
                if rows["deliveries"]:
                    break
                await asyncio.sleep(0.05)
        [delivery] = rows["deliveries"]
        assert delivery["status"] == "refused"
        with pytest.raises(BlockingIOError):
            outside.accept()  # nobody knocked
    finally:
        outside.close()


async def test_a_slow_receiver_does_not_delay_a_fast_one(api):
    from tests.fakes.webhook_receiver import ok, slow

    with WebhookReceiver() as sluggish, WebhookReceiver() as quick:
        sluggish.default = slow(3.0, then=ok())
        await _subscribe(api, sluggish.url("/hook"), ["task.created"])
        await _subscribe(api, quick.url("/hook"), ["task.created"])
        started = asyncio.get_running_loop().time()
        for _ in range(3):
            await api.post("/tasks", json={"task_type": "echo"})
        await _until(lambda: len(quick.requests) >= 3, timeout=2.5)
        took = asyncio.get_running_loop().time() - started
    assert took < 2.5  # each of the slow one's answers takes 3 s
