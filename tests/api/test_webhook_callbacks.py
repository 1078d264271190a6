"""Task callbacks, test pings, redeliveries and disabling, against receivers the tests
start; signatures checked by the `standardwebhooks` library.

One node serves the module (its webhooks and tasks are told apart by id): retries on a
compressed schedule, and a webhook is disabled after failing for 1 s instead of 5 days.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
import pytest_asyncio
from standardwebhooks.webhooks import Webhook

from actors.webhooks.guard import parse_allow
from amas.runtime.node import Node
from tests.api.support import as_key, assert_envelope, make_key
from tests.conftest import fresh_config, serving
from tests.fakes.webhook_receiver import Request, WebhookReceiver, fail, ok

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    config = fresh_config(tmp_path_factory.mktemp("node"))
    config.webhook_allow = parse_allow("127.0.0.1/32,localhost")
    config.webhook_schedule = (0.0, 0.05, 0.1)
    config.webhook_disable_after = 1.0
    async with Node(config) as node, serving(node) as client:
        yield client


def _verified(secret: str, request: Request) -> dict[str, Any]:
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    Webhook(secret).verify(request.body, headers)  # raises if forged
    body: dict[str, Any] = json.loads(request.body)
    return body


async def _until(check: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in time: {what}")
        await asyncio.sleep(0.02)


async def _finished(receiver: WebhookReceiver, task_id: str) -> list[Request]:
    """The requests about `task_id` once its task.completed has come (order is not
    promised: attempts run side by side)."""

    def about() -> list[Request]:
        return [r for r in receiver.requests if r.json()["data"].get("task_id") == task_id]

    async def done() -> bool:
        return any(r.json()["event"] == "task.completed" for r in about())

    await _until(done, f"task.completed of {task_id}")
    return about()


async def test_a_callback_url_gets_its_tasks_events_signed_with_the_keys_secret(api):
    key = await make_key(api, ["read", "write"])
    as_it = as_key(key["api_key"])
    with WebhookReceiver() as receiver:
        first = await api.post(
            "/tasks",
            json={"task_type": "echo", "parameters": {"n": 1}, "callback_url": receiver.url()},
            headers=as_it,
        )
        assert first.status_code == 201, first.text
        secret = first.json()["callback_secret"]
        assert secret.startswith("whsec_")
        task_id = first.json()["task_id"]
        requests = await _finished(receiver, task_id)
        second = await api.post(
            "/tasks", json={"task_type": "echo", "callback_url": receiver.url("/2")}, headers=as_it
        )
        assert "callback_secret" not in second.json()  # shown once, on first use
        later = await _finished(receiver, second.json()["task_id"])

    bodies = {b["event"]: b for b in (_verified(secret, request) for request in requests)}
    assert {"task.created", "task.started", "task.completed"} <= set(bodies)
    assert set(bodies) <= {"task.created", "task.started", "task.progress", "task.completed"}
    assert bodies["task.created"]["data"]["status"] == "queued"
    assert bodies["task.started"]["data"]["status"] == "in_progress"
    done = bodies["task.completed"]["data"]
    assert done["status"] == "completed"
    assert done["results_url"] == f"/api/v1/tasks/{task_id}/results" and "result" not in done
    assert isinstance(done["results_summary"], dict)
    assert all(_verified(secret, request) for request in later)
    assert {r.path for r in later} == {"/2"}


async def test_a_replaced_callback_secret_signs_beside_the_old_one_for_a_day(api):
    key = await make_key(api, ["read", "write"])
    as_it = as_key(key["api_key"])
    with WebhookReceiver() as receiver:
        made = await api.post(
            "/tasks", json={"task_type": "echo", "callback_url": receiver.url()}, headers=as_it
        )
        old = made.json()["callback_secret"]
        await _finished(receiver, made.json()["task_id"])
        replaced = await api.post("/webhooks/callback-secret", headers=as_it)
        assert replaced.status_code == 200, replaced.text
        new = replaced.json()["secret"]
        again = await api.post(
            "/tasks", json={"task_type": "echo", "callback_url": receiver.url()}, headers=as_it
        )
        requests = await _finished(receiver, again.json()["task_id"])
    assert new != old
    _verified(new, requests[-1])
    _verified(old, requests[-1])  # receivers not yet told still verify


async def test_a_callback_url_outside_the_allow_list_is_refused_before_the_task_exists(api):
    with socket.socket() as listener:
        listener.bind(("127.0.0.2", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        before = (await api.get("/tasks")).json()["total"]
        refused = await api.post(
            "/tasks",
            json={"task_type": "echo", "callback_url": f"http://127.0.0.2:{port}/hook"},
        )
        assert_envelope(refused, 403, "FORBIDDEN")
        await asyncio.sleep(0.2)
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection came
    assert (await api.get("/tasks")).json()["total"] == before


async def test_a_test_ping_is_sent_once_and_answered_with_how_it_went(api):
    with WebhookReceiver() as receiver:
        made = await api.post("/webhooks", json={"url": receiver.url(), "events": ["task.*"]})
        webhook = made.json()
        pinged = await api.post(f"/webhooks/{webhook['id']}/test")
        assert pinged.status_code == 200, pinged.text
        assert pinged.json()["status"] == "delivered" and pinged.json()["last_status"] == 200
        [request] = receiver.requests
        body = _verified(webhook["secret"], request)
        assert body["event"] == "webhook.test" and body["data"]["webhook_id"] == webhook["id"]

        receiver.script(fail(500))
        failed = (await api.post(f"/webhooks/{webhook['id']}/test")).json()
        await asyncio.sleep(0.3)  # a retry would come after 0.05 s
        assert len(receiver.requests) == 2
        await api.delete(f"/webhooks/{webhook['id']}")
    assert failed["status"] == "failed" and failed["last_status"] == 500
    assert failed["next_attempt_at"] is None


async def test_a_delivery_that_gave_up_is_sent_again_on_request(api):
    with WebhookReceiver() as receiver:
        receiver.default = fail(503)
        made = await api.post("/webhooks", json={"url": receiver.url(), "events": ["task.created"]})
        webhook = made.json()
        await api.post("/tasks", json={"task_type": "echo"})
        deliveries = f"/webhooks/{webhook['id']}/deliveries"

        async def gave_up() -> bool:
            rows = (await api.get(deliveries)).json()["deliveries"]
            return bool(rows) and rows[0]["status"] == "gave_up"

        await _until(gave_up, "three attempts, then gave up")
        [row] = (await api.get(deliveries)).json()["deliveries"]
        arrivals = [r.at for r in receiver.requests]
        receiver.default = ok()
        again = await api.post(f"{deliveries}/{row['delivery_id']}/redeliver")
        assert again.status_code == 200, again.text
        ids = {r.headers["webhook-id"] for r in receiver.requests}
        attempts = len(receiver.requests)
        missing = await api.post(f"{deliveries}/{webhook['id']}:evt-nope/redeliver")
        other = await make_key(api, ["read", "write"])
        hidden = await api.post(
            f"{deliveries}/{row['delivery_id']}/redeliver", headers=as_key(other["api_key"])
        )
        await api.delete(f"/webhooks/{webhook['id']}")
    assert row["attempts"] == 3
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    assert gaps[0] >= 0.05 * 0.9 and gaps[1] >= 0.1 * 0.9  # the schedule, less its jitter
    assert again.json()["status"] == "delivered" and again.json()["attempts"] == 4
    assert attempts == 4 and ids == {row["event_id"]}  # the same webhook-id each time
    assert_envelope(missing, 404, "NOT_FOUND")
    assert_envelope(hidden, 404, "NOT_FOUND")


async def test_an_endpoint_failing_past_the_limit_is_disabled_and_says_why(api):
    with WebhookReceiver() as receiver:
        receiver.default = fail(500)
        made = await api.post("/webhooks", json={"url": receiver.url(), "events": ["task.*"]})
        webhook_id = made.json()["id"]

        async def disabled() -> bool:
            await api.post("/tasks", json={"task_type": "echo"})
            return (await api.get(f"/webhooks/{webhook_id}")).json()["enabled"] is False

        await _until(disabled, "disabled after failing for 1 s")
        shown = (await api.get(f"/webhooks/{webhook_id}")).json()
        await asyncio.sleep(0.3)  # attempts in flight settle
        seen = len(receiver.requests)
        await api.post("/tasks", json={"task_type": "echo"})
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == seen  # nothing more is sent
        alerts = await _alerts(api, webhook_id)
        await api.delete(f"/webhooks/{webhook_id}")
    assert "no delivery succeeded" in shown["disabled_reason"]
    [alert] = [a for a in alerts if not a["cleared"]]
    assert alert["code"] == "WEBHOOK_DISABLED" and alert["level"] == "warning"


async def _alerts(api: httpx.AsyncClient, subject: str) -> list[dict[str, Any]]:
    """The `system.alert` events about `subject`, once there is one."""
    found: list[dict[str, Any]] = []

    async def some() -> bool:
        page = (await api.get("/events", params={"stream": "system", "limit": 1000})).json()
        found[:] = [e["data"] for e in page["events"] if e["data"].get("subject") == subject]
        return bool(found)

    await _until(some, f"an alert about {subject}")
    return found


async def test_a_catch_all_webhook_never_gets_delivery_records(api):
    with WebhookReceiver() as everything, WebhookReceiver() as pinged:
        wide = await api.post("/webhooks", json={"url": everything.url(), "events": ["*"]})
        other = await api.post("/webhooks", json={"url": pinged.url(), "events": ["agent.error"]})
        await api.post(f"/webhooks/{other.json()['id']}/test")
        task = await api.post("/tasks", json={"task_type": "echo"})
        task_id = task.json()["task_id"]

        async def completed() -> bool:
            return any(
                r.json()["event"] == "task.completed" and r.json()["data"].get("task_id") == task_id
                for r in everything.requests
            )

        await _until(completed, "the task's events reached the catch-all webhook")
        await api.delete(f"/webhooks/{wide.json()['id']}")
        await api.delete(f"/webhooks/{other.json()['id']}")
    kinds = {r.json()["event"] for r in everything.requests}
    assert "task.created" in kinds
    assert not any(kind.startswith("webhook.") for kind in kinds)
