"""Retries: a refused (429, 503) or broken request is sent again, bounded, with the same
Idempotency-Key, only where that cannot do a thing twice. A proxy on 127.0.0.1 in front
of a real node refuses or drops requests as each test scripts; the node's log says how
many tasks were made."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from amas.runtime.nats_server import free_port
from amas.sdk import APIConnectionError, ServiceUnavailableError
from tests.sdk.support import (
    DROP,
    DROP_AFTER_FORWARD,
    Proxy,
    Refuse,
    async_client,
    client,
    created_tasks,
    in_thread,
    root_of,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


def _keys(proxy: Proxy) -> list[str | None]:
    return [r.headers.get("idempotency-key") for r in proxy.requests]


async def test_a_submit_refused_with_503_is_sent_again_after_retry_after_and_makes_one_task(api):
    marker = secrets.token_hex(8)
    proxy = Proxy(root_of(api))
    proxy.script = [Refuse(503, {"Retry-After": "1"})]
    async with proxy.running():

        def scenario() -> tuple[str, float]:
            with client(proxy.url) as c:
                started = time.monotonic()
                submitted = c.tasks.submit("echo", parameters={"marker": marker})
                return submitted.task_id, time.monotonic() - started

        task_id, took = await in_thread(scenario)

    assert took >= 1.0  # the node's Retry-After, honoured
    assert [(r.method, r.path) for r in proxy.requests] == [("POST", "/api/v1/tasks")] * 2
    first, second = _keys(proxy)
    assert first and first == second
    assert [e["data"]["task_id"] for e in await created_tasks(api, marker)] == [task_id]


async def test_a_submit_whose_answer_is_lost_is_sent_again_and_the_node_makes_one_task(api):
    marker = secrets.token_hex(8)
    proxy = Proxy(root_of(api))
    proxy.script = [DROP_AFTER_FORWARD]  # the node makes the task; its answer never arrives
    async with proxy.running():

        def scenario() -> str:
            with client(proxy.url) as c:
                return c.tasks.submit("echo", parameters={"marker": marker}).task_id

        task_id = await in_thread(scenario)

    first, second = _keys(proxy)
    assert first and first == second
    assert [e["data"]["task_id"] for e in await created_tasks(api, marker)] == [task_id]


async def test_the_async_client_retries_a_lost_answer_with_the_same_key(api):
    marker = secrets.token_hex(8)
    proxy = Proxy(root_of(api))
    proxy.script = [DROP_AFTER_FORWARD, Refuse(503, {"Retry-After": "0"})]
    async with proxy.running(), async_client(proxy.url) as c:
        task_id = (await c.tasks.submit("echo", parameters={"marker": marker})).task_id

    assert len(set(_keys(proxy))) == 1 and len(proxy.requests) == 3
    assert [e["data"]["task_id"] for e in await created_tasks(api, marker)] == [task_id]


async def test_a_post_the_node_does_not_deduplicate_is_not_sent_again_when_its_fate_is_unknown(
    api,
):
    proxy = Proxy(root_of(api))
    proxy.script = [DROP_AFTER_FORWARD, Refuse(503)]
    async with proxy.running():

        def scenario() -> None:
            with client(proxy.url) as c:
                with pytest.raises(APIConnectionError):
                    c.webhooks.create("http://127.0.0.1:9/lost", ["task.completed"])
                with pytest.raises(ServiceUnavailableError):
                    c.webhooks.create("http://127.0.0.1:9/refused", ["task.completed"])

        await in_thread(scenario)

    assert [r.method for r in proxy.requests] == ["POST", "POST"]  # one each, no retry


async def test_a_429_is_sent_again_for_any_request_since_nothing_was_done(api):
    proxy = Proxy(root_of(api))
    proxy.script = [Refuse(429, {"Retry-After": "0"}, code="RATE_LIMITED")]
    async with proxy.running():

        def scenario() -> str:
            with client(proxy.url) as c:
                return c.webhooks.create("http://127.0.0.1:9/hook", ["task.completed"]).id

        webhook_id = await in_thread(scenario)

    assert len(proxy.requests) == 2 and webhook_id.startswith("wh-")


async def test_retries_stop_after_max_retries_with_the_last_refusal(api):
    proxy = Proxy(root_of(api))
    proxy.script = [Refuse(503, {"Retry-After": "0"})] * 10
    async with proxy.running():

        def scenario() -> ServiceUnavailableError:
            with client(proxy.url, max_retries=2) as c, pytest.raises(ServiceUnavailableError) as e:
                c.tasks.get("task-anything")
            return e.value

        error = await in_thread(scenario)

    assert len(proxy.requests) == 3
    assert (error.code, error.request_id, error.retry_after) == (
        "SERVICE_UNAVAILABLE",
        "req-proxy",
        0,
    )

    async with proxy.running():

        def without_retries() -> None:
            with client(proxy.url) as c, pytest.raises(ServiceUnavailableError):
                c.with_options(max_retries=0).tasks.get("task-anything")

        await in_thread(without_retries)

    assert len(proxy.requests) == 4


async def test_a_retry_after_beyond_max_retry_wait_is_not_waited(api):
    proxy = Proxy(root_of(api))
    proxy.script = [Refuse(503, {"Retry-After": "3600"})]
    async with proxy.running():

        def scenario() -> tuple[ServiceUnavailableError, float]:
            started = time.monotonic()
            with client(proxy.url) as c, pytest.raises(ServiceUnavailableError) as e:
                c.tasks.get("task-anything")
            return e.value, time.monotonic() - started

        error, took = await in_thread(scenario)

    assert len(proxy.requests) == 1 and error.retry_after == 3600 and took < 5


async def test_a_get_is_sent_again_after_a_dropped_connection(api):
    proxy = Proxy(root_of(api))
    proxy.script = [DROP]
    async with proxy.running():

        def scenario() -> int:
            with client(proxy.url) as c:
                return len(c.agents.list())

        assert await in_thread(scenario) == 8

    assert len(proxy.requests) == 2


async def test_a_refused_connection_is_tried_again_even_for_a_post_since_nothing_was_sent():
    sent: list[httpx.Request] = []

    def scenario() -> None:
        url = f"http://127.0.0.1:{free_port()}"
        with client(url, sent=sent, max_retries=2) as c, pytest.raises(APIConnectionError):
            c.webhooks.create("http://127.0.0.1:9/hook", ["task.completed"])

    await in_thread(scenario)
    assert len(sent) == 3 and len({r.headers["idempotency-key"] for r in sent}) == 1
