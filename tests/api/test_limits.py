"""Rate limits: the GCRA arithmetic, tier limits and headers over HTTP, route-group limits,
repeated failed authentication, and the tiers' concurrent-task limits.

The tests over HTTP share one node (`on_the_module_node`): each makes the keys whose
limits it checks, and every limit is a key's own (the one refused key of
test_every_response_carries_the_limit_headers is far from the address's 10 a minute;
the failed-authentication test serves the node with an edge of its own). The restart
test has nodes of its own. A test cancels the work it leaves running (a node stopping
with work in hand waits 2 s for it).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from amas.runtime.node import Node, NodeConfig
from api.auth.limits import Gcra, RateLimiter
from api.settings import EdgeSettings
from events.keys import TIERS, Principal
from tests.api.support import as_key, assert_envelope, make_key
from tests.conftest import ADMIN_KEY, serving

on_the_module_node = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node: Node) -> Node:
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


# -- the arithmetic, with the clock in our hands ---------------------------------------


def test_gcra_allows_the_burst_then_one_request_per_interval() -> None:
    limiter = Gcra(limit=100, period=3600, burst=10)  # the free tier: one per 36 s
    verdicts = [limiter.take("k", now=1000.0) for _ in range(10)]
    assert all(v.allowed for v in verdicts)
    assert [v.remaining for v in verdicts] == list(range(9, -1, -1))
    assert all(v.limit == 100 for v in verdicts)

    refused = limiter.take("k", now=1000.0)
    assert not refused.allowed and refused.remaining == 0
    assert refused.retry_after == 36

    assert not limiter.take("k", now=1035.0).allowed
    again = limiter.take("k", now=1036.0)
    assert again.allowed and again.remaining == 0
    assert limiter.take("other", now=1036.0).remaining == 9  # clients are apart


def test_a_refused_request_counts_against_nothing() -> None:
    limiter = Gcra(limit=60, period=60, burst=2)
    limiter.take("k", now=0.0)
    limiter.take("k", now=0.0)
    for _ in range(50):
        assert not limiter.take("k", now=0.5).allowed
    assert limiter.take("k", now=1.0).allowed  # refusals did not push the refill back


def test_peek_counts_nothing() -> None:
    limiter = Gcra(limit=10, period=60, burst=1)
    assert limiter.peek("k", now=0.0).allowed
    assert limiter.take("k", now=0.0).allowed
    assert not limiter.peek("k", now=0.0).allowed


def test_a_group_refusal_spends_nothing_of_the_tier() -> None:
    limits = RateLimiter()
    free = Principal("k1", "test", frozenset({"write"}), TIERS["free"])
    trigger = ("POST", "/api/v1/workflows/self-improver/trigger")  # 5 per minute
    for _ in range(5):
        assert limits.check(free, *trigger).allowed  # type: ignore[union-attr]
    refused = limits.check(free, *trigger)
    assert refused is not None and not refused.allowed and "self-improver" in refused.what
    other = limits.check(free, "GET", "/api/v1/tasks")
    assert other is not None and other.allowed and other.remaining == 10 - 5 - 1


def test_enterprise_is_unlimited_outside_the_groups() -> None:
    limits = RateLimiter()
    enterprise = Principal("k2", "test", frozenset({"read"}), TIERS["enterprise"])
    assert limits.check(enterprise, "GET", "/api/v1/tasks") is None
    group = limits.check(enterprise, "GET", "/api/v1/ai-providers")
    assert group is not None and group.limit == 30


# -- over HTTP ------------------------------------------------------------------------


@on_the_module_node
async def test_a_free_key_gets_its_burst_then_429_with_retry_after(api: httpx.AsyncClient) -> None:
    key = as_key((await make_key(api, ["read"], tier="free"))["api_key"])
    remaining = []
    for _ in range(10):
        response = await api.get("/tasks", headers=key)
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-limit"] == "100"
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert int(response.headers["x-ratelimit-reset"]) >= int(time.time())
    assert remaining == list(range(9, -1, -1))

    refused = await api.get("/tasks", headers=key)
    error = assert_envelope(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["retry-after"]) <= 36
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert error["details"]["retry_after"] == int(refused.headers["retry-after"])
    # Another key of the same tier has its own bucket.
    other = as_key((await make_key(api, ["read"], tier="free"))["api_key"])
    assert (await api.get("/tasks", headers=other)).status_code == 200


@on_the_module_node
async def test_every_response_carries_the_limit_headers(api: httpx.AsyncClient) -> None:
    key = as_key((await make_key(api, ["read"], tier="basic"))["api_key"])
    responses = [
        await api.get("/tasks", headers=key),  # 200
        await api.get("/tasks/task-nope", headers=key),  # 404
        await api.get("/no/such/route", headers=key),  # 404 from routing
        await api.post("/tasks", json={}, headers=key),  # 403 (no write scope)
        await api.get("/tasks", headers=as_key("wrong")),  # 401
        await api.get("/health"),  # open
    ]
    for response in responses:
        for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert header in response.headers, (response.status_code, response.url, header)
    assert [r.status_code for r in responses] == [200, 404, 404, 403, 401, 200]
    assert responses[0].headers["x-ratelimit-limit"] == "1000"


@on_the_module_node
async def test_workflow_triggers_have_their_own_per_minute_limit(api: httpx.AsyncClient) -> None:
    """The orchestrator's 10 per minute hold even for an unlimited (enterprise) key."""
    key = as_key((await make_key(api, ["write"], tier="enterprise"))["api_key"])
    path = "/workflows/orchestrator/trigger"
    seen, runs = [], []
    for _ in range(10):
        response = await api.post(path, json={}, headers=key)
        assert response.status_code != 429
        assert response.headers["x-ratelimit-limit"] == "10"
        seen.append(int(response.headers["x-ratelimit-remaining"]))
        runs.append(response.json()["workflow_id"])
    assert seen == list(range(9, -1, -1))
    refused = await api.post(path, json={}, headers=key)
    error = assert_envelope(refused, 429, "RATE_LIMITED")
    assert "orchestrator" in error["message"] and int(refused.headers["retry-after"]) >= 1
    assert (await api.get("/tasks", headers=key)).status_code == 403  # other routes unaffected
    for run in runs:  # the runs would go on working beside the next tests
        assert (await api.delete(f"/workflows/{run}")).status_code == 200


@on_the_module_node
async def test_repeated_failed_authentication_is_slowed_down(node: Node) -> None:
    settings = EdgeSettings(auth_failures_per_minute=3)
    async with serving(node, settings, key=None) as client:
        for _ in range(3):
            assert_envelope(
                await client.get("/tasks", headers=as_key("guess")), 401, "UNAUTHORIZED"
            )
        blocked = await client.get("/tasks", headers=as_key("guess"))
        error = assert_envelope(blocked, 429, "RATE_LIMITED")
        assert "failed authentications" in error["message"]
        assert int(blocked.headers["retry-after"]) >= 1
        # While blocked, even a good key from that address waits: guessing gains nothing.
        assert (await client.get("/tasks", headers=as_key(ADMIN_KEY))).status_code == 429
        assert (await client.get("/health")).status_code == 200


# -- concurrent tasks -------------------------------------------------------------------

_SLOW = {"task_type": "echo", "parameters": {"delay": 60, "steps": 1}}


@on_the_module_node
async def test_a_tier_bounds_the_unfinished_tasks_of_a_key(
    api: httpx.AsyncClient, wait_task
) -> None:
    key = as_key((await make_key(api, ["read", "write"], tier="free"))["api_key"])
    first = await api.post("/tasks", json=_SLOW, headers=key)
    second = await api.post("/tasks", json=_SLOW, headers=key)
    assert first.status_code == second.status_code == 201

    refused = await api.post("/tasks", json=_SLOW, headers=key)
    error = assert_envelope(refused, 429, "RATE_LIMITED")
    assert error["details"]["limit"] == "concurrent_tasks"
    assert error["details"]["max"] == 2
    assert "concurrent task limit" in error["message"]
    assert int(refused.headers["retry-after"]) >= 1
    # Other keys are not affected.
    admins = await api.post("/tasks", json=_SLOW)
    assert admins.status_code == 201

    cancelled = await api.delete(f"/tasks/{first.json()['task_id']}", headers=key)
    assert cancelled.status_code == 200, cancelled.text
    await wait_task(first.json()["task_id"], "cancelled")
    again = await api.post("/tasks", json=_SLOW, headers=key)
    assert again.status_code == 201, again.text
    for left in (second, admins, again):  # running for a minute otherwise
        assert (await api.delete(f"/tasks/{left.json()['task_id']}")).status_code == 200


async def test_the_concurrent_task_limit_survives_a_restart(node_config: NodeConfig) -> None:
    async with Node(node_config) as node, serving(node) as api:
        key = await make_key(api, ["read", "write"], tier="free")
        for _ in range(2):
            assert (
                await api.post("/tasks", json=_SLOW, headers=as_key(key["api_key"]))
            ).status_code == 201
    async with Node(node_config) as node, serving(node) as api:
        refused = await api.post("/tasks", json=_SLOW, headers=as_key(key["api_key"]))
        assert_envelope(refused, 429, "RATE_LIMITED")
        for task in (await api.get("/tasks")).json()["tasks"]:  # the key's two, running again
            await api.delete(f"/tasks/{task['task_id']}")  # or this node's stop waits 2 s


def test_the_tiers_are_the_seeds() -> None:
    table = {name: (t.requests_per_hour, t.burst, t.concurrent_tasks) for name, t in TIERS.items()}
    assert table == {
        "free": (100, 10, 2),
        "basic": (1_000, 50, 10),
        "pro": (10_000, 200, 50),
        "enterprise": (None, None, None),
    }


@on_the_module_node
async def test_requests_in_flight_together_are_each_counted_once(api: httpx.AsyncClient) -> None:
    """Many requests in flight at once from one key: each counted exactly once."""
    key = as_key((await make_key(api, ["read"], tier="basic"))["api_key"])
    responses = await asyncio.gather(*(api.get("/tasks", headers=key) for _ in range(60)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 50 and statuses.count(429) == 10
