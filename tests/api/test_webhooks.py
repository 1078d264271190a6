"""/webhooks: subscriptions as events, owned by the key that made them; URLs checked
against the allow-list at registration; the signing secret shown once and never in the
log."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from actors.webhooks.guard import parse_allow
from amas.runtime.node import NodeConfig
from tests.api.support import as_key, assert_envelope, make_key
from tests.conftest import fresh_config


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    config = fresh_config(tmp_path)
    config.webhook_allow = parse_allow("127.0.0.1/32,localhost")
    return config


async def test_a_webhook_is_made_shown_changed_rotated_and_deleted(api, node):
    made = await api.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["task.completed", "task.*"]},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    webhook_id = body["id"]
    shown = (await api.get(f"/webhooks/{webhook_id}")).json()
    assert "secret" not in shown and shown["secret_fingerprint"] == body["secret_fingerprint"]
    assert shown["events"] == ["task.completed", "task.*"] and shown["enabled"] is True

    patched = await api.patch(f"/webhooks/{webhook_id}", json={"enabled": False})
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    rotated = (await api.post(f"/webhooks/{webhook_id}/rotate-secret")).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert rotated["secret_fingerprint"] != body["secret_fingerprint"]

    deleted = await api.delete(f"/webhooks/{webhook_id}")
    assert deleted.status_code == 200
    assert_envelope(await api.get(f"/webhooks/{webhook_id}"), 404, "NOT_FOUND")
    events = await node.store.read_all(1, 100_000)
    stored = b"".join(msgspec.json.encode(e.data) for e in events)
    assert secret.encode() not in stored and rotated["secret"].encode() not in stored


async def test_a_given_secret_is_not_shown_back(api):
    made = await api.post(
        "/webhooks",
        json={"url": "http://localhost:9/", "events": ["task.failed"],
              "secret": "my-own-secret-0123456789"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["secret"] is None


async def test_urls_outside_the_allow_list_and_bad_events_are_refused(api):
    outside = await api.post(
        "/webhooks", json={"url": "http://127.0.0.2:9/", "events": ["task.completed"]}
    )
    assert_envelope(outside, 403, "FORBIDDEN")
    named = await api.post(
        "/webhooks", json={"url": "https://example.com/hook", "events": ["task.completed"]}
    )
    assert_envelope(named, 403, "FORBIDDEN")
    scheme = await api.post(
        "/webhooks", json={"url": "ftp://127.0.0.1/", "events": ["task.completed"]}
    )
    assert scheme.status_code in (400, 403), scheme.text
    events = await api.post(
        "/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["task.exploded"]}
    )
    assert_envelope(events, 400, "INVALID_PARAMETER")


async def test_another_keys_webhooks_are_invisible_to_it_but_not_to_an_admin(api):
    alice = await make_key(api, ["read", "write"])
    bob = await make_key(api, ["read", "write"])
    made = await api.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/a", "events": ["task.completed"]},
        headers=as_key(alice["api_key"]),
    )
    webhook_id = made.json()["id"]
    as_bob = as_key(bob["api_key"])
    assert_envelope(await api.get(f"/webhooks/{webhook_id}", headers=as_bob), 404, "NOT_FOUND")
    assert (await api.get("/webhooks", headers=as_bob)).json()["total"] == 0
    refused = await api.delete(f"/webhooks/{webhook_id}", headers=as_bob)
    assert_envelope(refused, 404, "NOT_FOUND")
    mine = (await api.get("/webhooks", headers=as_key(alice["api_key"]))).json()
    assert [w["id"] for w in mine["webhooks"]] == [webhook_id]
    everyone = (await api.get("/webhooks")).json()  # the admin key
    assert webhook_id in [w["id"] for w in everyone["webhooks"]]
