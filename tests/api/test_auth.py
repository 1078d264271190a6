"""API keys over real HTTP: 401 without a good key, 403 without the scope, revocation and
rotation that count at once, expiry, and a key's id on the events its requests cause.

The tests share one node: each makes the keys it uses and looks at those only. The node
answers 429 after 10 refused keys from one address in a minute: together the tests
send 8 (a missing key does not count).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from amas.runtime.node import Node
from tests.api.support import as_key, assert_envelope, files_containing, keyless, make_key
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node: Node) -> Node:
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


GUARDED = [
    ("GET", "/tasks"),
    ("GET", "/tasks/task-x"),
    ("POST", "/tasks"),
    ("DELETE", "/tasks/task-x"),
    ("GET", "/agents"),
    ("PUT", "/agents/osint-1/config"),
    ("GET", "/system/info"),
    ("GET", "/api-keys"),
    ("POST", "/api-keys"),
    ("GET", "/no/such/route"),
]


async def test_every_endpoint_but_health_and_docs_needs_a_key(api: httpx.AsyncClient) -> None:
    async with keyless(api) as anonymous:
        for method, path in GUARDED:
            response = await anonymous.request(method, path, json={})
            error = assert_envelope(response, 401, "UNAUTHORIZED")
            assert "X-API-Key" in error["message"], (method, path)
        assert (await anonymous.get("/health")).status_code == 200
        assert (await anonymous.get("/openapi.json")).status_code == 200
        root = str(api.base_url).removesuffix("/api/v1/").removesuffix("/api/v1")
        for page in ("/docs", "/redoc"):
            assert (await anonymous.get(root + page)).status_code == 200


async def test_an_unknown_or_malformed_key_is_refused(api: httpx.AsyncClient) -> None:
    made = await make_key(api)
    forged = made["api_key"][:-4] + "AAAA"  # right key id, wrong secret
    for raw in (forged, "amas_nosuchkey_secret", "not-a-key", ADMIN_KEY + "x"):
        error = assert_envelope(await api.get("/tasks", headers=as_key(raw)), 401, "UNAUTHORIZED")
        assert error["message"] == "unknown API key"


async def test_scopes_decide_what_a_key_may_do(api: httpx.AsyncClient) -> None:
    reader = as_key((await make_key(api, ["read"]))["api_key"])
    writer = as_key((await make_key(api, ["write"]))["api_key"])
    task = {"task_type": "echo", "parameters": {"n": 1}}

    assert (await api.get("/tasks", headers=reader)).status_code == 200
    error = assert_envelope(await api.post("/tasks", json=task, headers=reader), 403, "FORBIDDEN")
    assert error["details"] == {"required": "write", "granted": ["read"]}
    assert_envelope(await api.get("/api-keys", headers=reader), 403, "FORBIDDEN")
    assert_envelope(
        await api.put("/agents/osint-1/config", json={"timeout": 5}, headers=reader),
        403,
        "FORBIDDEN",
    )

    submitted = await api.post("/tasks", json=task, headers=writer)
    assert submitted.status_code == 201, submitted.text
    assert_envelope(await api.get("/tasks", headers=writer), 403, "FORBIDDEN")
    assert (
        await api.delete(f"/tasks/{submitted.json()['task_id']}", headers=writer)
    ).status_code in (200, 409)

    admin = as_key((await make_key(api, ["admin"]))["api_key"])
    for method, path in (("GET", "/tasks"), ("GET", "/api-keys"), ("GET", "/system/info")):
        assert (await api.request(method, path, headers=admin)).status_code == 200


async def test_a_revoked_key_stops_working_at_once(api: httpx.AsyncClient) -> None:
    made = await make_key(api, ["read"])
    key = as_key(made["api_key"])
    assert (await api.get("/tasks", headers=key)).status_code == 200

    revoked = await api.delete(f"/api-keys/{made['key_id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    error = assert_envelope(await api.get("/tasks", headers=key), 401, "UNAUTHORIZED")
    assert "revoked" in error["message"]

    assert_envelope(await api.delete(f"/api-keys/{made['key_id']}"), 409, "CONFLICT")
    listed = {k["key_id"]: k for k in (await api.get("/api-keys")).json()["api_keys"]}
    assert listed[made["key_id"]]["status"] == "revoked"


async def test_rotation_replaces_the_secret_and_keeps_the_key(api: httpx.AsyncClient) -> None:
    made = await make_key(api, ["read"], tier="basic")
    rotated = await api.post(f"/api-keys/{made['key_id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["api_key"]
    assert new != made["api_key"] and new.startswith(made["prefix"] + "_")

    assert_envelope(await api.get("/tasks", headers=as_key(made["api_key"])), 401, "UNAUTHORIZED")
    answer = await api.get("/tasks", headers=as_key(new))
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-limit"] == "1000"  # still the basic tier


async def test_an_expired_key_is_refused(api: httpx.AsyncClient) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=1.5)
    made = await make_key(api, ["read"], expires_at=expires.isoformat())
    key = as_key(made["api_key"])
    assert (await api.get("/tasks", headers=key)).status_code == 200
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
    error = assert_envelope(await api.get("/tasks", headers=key), 401, "UNAUTHORIZED")
    assert "expired" in error["message"]
    shown = (await api.get(f"/api-keys/{made['key_id']}")).json()
    assert shown["status"] == "expired"


async def test_bad_key_requests_are_4xx_in_the_envelope(api: httpx.AsyncClient) -> None:
    assert_envelope(
        await api.post("/api-keys", json={"name": "x", "scopes": ["root"]}), 422, "VALIDATION_ERROR"
    )
    assert_envelope(
        await api.post("/api-keys", json={"name": "x", "tier": "platinum"}), 422, "VALIDATION_ERROR"
    )
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert_envelope(
        await api.post("/api-keys", json={"name": "x", "expires_at": past}),
        400,
        "INVALID_PARAMETER",
    )
    assert_envelope(await api.get("/api-keys/nosuchkey"), 404, "NOT_FOUND")
    assert_envelope(await api.delete("/api-keys/nosuchkey"), 404, "NOT_FOUND")
    assert_envelope(await api.post("/api-keys/nosuchkey/rotate"), 404, "NOT_FOUND")


async def test_the_request_id_and_key_id_reach_the_events_the_request_caused(
    api: httpx.AsyncClient, node: Node
) -> None:
    made = await make_key(api, ["read", "write"])
    response = await api.post(
        "/tasks",
        json={"task_type": "echo"},
        headers={**as_key(made["api_key"]), "X-Request-ID": "req-edge-42"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == "req-edge-42"
    [created, *_] = await node.store.read_stream(response.json()["task_id"])
    assert created.type == "task.created"
    assert created.meta.request_id == "req-edge-42"
    assert created.meta.api_key_id == made["key_id"]
    assert created.data.api_key_id == made["key_id"]

    [key_created] = await node.store.read_stream(f"apikey-{made['key_id']}")
    assert key_created.meta.api_key_id == "env"  # made with the AMAS_API_KEY admin key


async def test_the_raw_key_is_stored_nowhere(
    api: httpx.AsyncClient, node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    made = await make_key(api, ["read"])
    raw = made["api_key"]
    secret = raw.split("_", 2)[2]  # amas_<key id>_<secret>
    assert (await api.get("/tasks", headers=as_key(raw))).status_code == 200
    await api.delete(f"/api-keys/{made['key_id']}")
    assert (await api.get("/tasks", headers=as_key(raw))).status_code == 401

    data_dir: Path = node.config.data.root
    assert files_containing(data_dir, secret) == []
    events = [e for e in await node.store.read_all(1, 100_000) if e.type.startswith("apikey.")]
    assert events and all(secret not in repr(e) for e in events)
    assert all(secret not in record.getMessage() for record in caplog.records)
