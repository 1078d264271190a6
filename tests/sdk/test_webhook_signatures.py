"""amas.sdk.webhooks checks what the node signs: payloads made by the node's own signing
code, and real deliveries from a node to a receiver."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from actors.webhooks.delivery import standard_secret
from actors.webhooks.signing import new_secret, payload, standard_headers
from amas.sdk import WebhookVerificationError
from amas.sdk.webhooks import verify, verify_signature_field
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.sdk.support import client, in_thread

DATA = {"task_id": "task-abc123", "status": "completed", "results_summary": {"n": 1}}


def _signed(secret: str, *, at: int | None = None, previous: tuple[str, ...] = ()):
    body = payload("task.completed", "2026-01-07T12:25:00Z", DATA, secret)
    stamp = int(time.time()) if at is None else at
    keys = [standard_secret(s) for s in (secret, *previous)]
    headers = standard_headers(keys[0], "01EVENTID", stamp, body, previous=keys[1:])
    return body, headers


def test_a_delivery_signed_by_the_node_verifies_and_reads_as_an_event():
    secret = new_secret()
    body, headers = _signed(secret)
    event = verify(secret, body, {k.title(): v for k, v in headers.items()})  # any case
    assert (event.event, event.data) == ("task.completed", DATA)
    assert event.signature and event.signature.startswith("sha256=")
    assert verify_signature_field(secret, body) == event


def test_a_secret_chosen_by_the_client_verifies_the_same_way():
    body, headers = _signed("your-webhook-secret")
    assert verify("your-webhook-secret", body, headers).data == DATA
    assert verify_signature_field("your-webhook-secret", json.loads(body)).data == DATA


def test_during_a_rotation_the_old_secret_still_verifies():
    old, new = new_secret(), new_secret()
    body, headers = _signed(new, previous=(old,))
    assert verify(new, body, headers) == verify(old, body, headers)


@pytest.mark.parametrize(
    "forgery",
    ["body", "secret", "stale", "future", "no header", "not a number", "v2 only"],
)
def test_forged_tampered_or_stale_deliveries_are_refused(forgery):
    secret = new_secret()
    body, headers = _signed(secret, at=int(time.time()) - 301 if forgery == "stale" else None)
    match forgery:
        case "body":
            body = body.replace(b"task-abc123", b"task-abc124")
        case "secret":
            secret = new_secret()
        case "future":
            body, headers = _signed(secret, at=int(time.time()) + 301)
        case "no header":
            del headers["webhook-signature"]
        case "not a number":
            headers["webhook-timestamp"] = "soon"
        case "v2 only":
            headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")
    with pytest.raises(WebhookVerificationError):
        verify(secret, body, headers)


def test_a_tampered_signature_field_is_refused():
    secret = new_secret()
    body, _ = _signed(secret)
    tampered = {**json.loads(body), "event": "task.failed"}
    with pytest.raises(WebhookVerificationError):
        verify_signature_field(secret, tampered)
    with pytest.raises(WebhookVerificationError):
        verify_signature_field(new_secret(), body)


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


@pytest.mark.asyncio(loop_scope="module")
async def test_real_deliveries_from_a_node_verify_with_the_secret_shown_once(api):
    with WebhookReceiver() as receiver:

        def scenario() -> tuple[str, str]:
            with client(api) as c:
                hook = c.webhooks.create(receiver.url(), ["task.completed"])
                assert hook.secret is not None
                task = c.tasks.submit("echo", parameters={"message": "signed"})
                c.tasks.wait(task.task_id)
                return hook.secret, task.task_id

        secret, task_id = await in_thread(scenario)
        [request] = await receiver.received(1)
    event = verify(secret, request.body, request.headers)
    assert event.event == "task.completed" and event.data["task_id"] == task_id
    assert verify_signature_field(secret, request.body) == event
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), request.body, request.headers)
