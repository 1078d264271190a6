"""`kill -9` of `amas serve` with webhook deliveries pending: after the restart every
event is delivered (a task's callback too), and none that was acknowledged (a 2xx
recorded) is sent again."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path

import httpx

from tests.fakes.webhook_receiver import Request, WebhookReceiver, fail, ok
from tests.served import clean_env, serve_process, wait_until


def _submit(api: httpx.Client, n: int) -> list[str]:
    ids = []
    for i in range(n):
        response = api.post("/tasks", json={"task_type": "echo", "parameters": {"i": i}})
        assert response.status_code == 201, response.text
        ids.append(response.json()["task_id"])
    return ids


def test_pending_deliveries_survive_a_kill_and_acknowledged_ones_are_not_resent(
    tmp_path: Path,
) -> None:
    key = secrets.token_urlsafe(16)
    env = clean_env(AMAS_API_KEY=key, AMAS_WEBHOOK_RETRY_SCALE="0.02")
    with WebhookReceiver() as receiver:
        receiver.default = ok()
        with (
            serve_process(tmp_path, env=env) as node,
            httpx.Client(base_url=node.base, headers={"X-API-Key": key}, timeout=10) as api,
        ):
            hook = {"url": receiver.url("/hook"), "events": ["task.created", "task.completed"]}
            made = api.post("/webhooks", json=hook)
            assert made.status_code == 201, made.text
            _submit(api, 3)
            wait_until(lambda: len(receiver.requests) >= 6, "the first 6 events delivered")
            acknowledged = {r.headers["webhook-id"] for r in receiver.requests}
            receiver.default = fail(503)
            _submit(api, 3)
            called = api.post(
                "/tasks", json={"task_type": "echo", "callback_url": receiver.url("/cb")}
            )
            assert called.status_code == 201, called.text
            wait_until(lambda: len(receiver.requests) >= 9, "some attempts failed")
            node.process.kill()  # SIGKILL with deliveries waiting for their retries
        before = len(receiver.requests)
        receiver.default = ok()
        with serve_process(tmp_path, env=env):
            wait_until(
                lambda: len({r.headers["webhook-id"] for r in receiver.requests}) >= 12,
                "all 12 events delivered",
                timeout=30,
            )
            wait_until(
                lambda: "task.completed" in _answered(receiver.requests[before:], "/cb"),
                "the callback's task.completed delivered",
                timeout=30,
            )
        after = [r for r in receiver.requests[before:] if r.path == "/hook"]

    counts = Counter(r.headers["webhook-id"] for r in after)
    assert not acknowledged & set(counts), "an acknowledged delivery was sent again"
    assert len(acknowledged) == 6


def _answered(requests: list[Request], path: str) -> set[str]:
    """The events of the requests to `path` (after the restart, every one is answered 200)."""
    return {r.json()["event"] for r in requests if r.path == path}
