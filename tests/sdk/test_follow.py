"""`wait` and a task's event stream see the task to its end, over NATS (JetStream from
the task's creation on) and over HTTP (GET /events, GET /tasks/{id}), from the blocking
and the asyncio client; each event once, in order, as the log has it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import nats
import pytest

from amas.runtime.nats_server import EmbeddedNatsServer, free_port
from amas.runtime.node import Node
from amas.sdk import Event, EventStreamUnavailable, PermissionDeniedError, WaitTimeoutError
from tests.api.support import make_key
from tests.sdk.support import async_client, client, in_thread

pytestmark = pytest.mark.asyncio(loop_scope="module")

SLOW = {"steps": 3, "delay": 0.6}
"""An echo that runs long enough for a stream to start before it ends."""


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


@pytest.fixture(scope="module")
def nats_url(shared_node: Node) -> str:
    return shared_node.nats_url


async def _log(api: httpx.AsyncClient, task_id: str) -> list[tuple[int, str, str]]:
    page = (await api.get("/events", params={"stream": task_id, "type": "task.*"})).json()
    return [(e["version"], e["type"], e["event_id"]) for e in page["events"]]


def _seen(events: list[Event]) -> list[tuple[int, str, str]]:
    return [(e.version, e.type, e.event_id) for e in events]


async def _submit(api: httpx.AsyncClient, **parameters: Any) -> str:
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


@pytest.mark.parametrize("via", ["nats", "http"])
async def test_the_blocking_stream_sees_a_task_from_creation_to_completion(api, nats_url, via):
    task_id = await _submit(api, **SLOW)

    def scenario() -> list[Event]:
        with client(api, nats_url=nats_url) as c:
            return list(c.tasks.events(task_id, via=via, timeout=30))

    events = await in_thread(scenario)
    assert events[0].type == "task.created" and events[-1].type == "task.completed"
    assert [e.type for e in events].count("task.progress") == 3
    assert _seen(events) == await _log(api, task_id)  # each once, in order, all of them


@pytest.mark.parametrize("via", ["nats", "http"])
async def test_the_async_stream_sees_a_task_to_its_end(api, nats_url, via):
    task_id = await _submit(api, **SLOW)
    async with async_client(api, nats_url=nats_url) as c:
        events = [e async for e in c.tasks.events(task_id, via=via, timeout=30)]
    assert events[-1].ends_task and events[-1].type == "task.completed"
    assert _seen(events) == await _log(api, task_id)


@pytest.mark.parametrize("via", ["nats", "http"])
async def test_a_stream_ends_with_a_cancellation(api, nats_url, via):
    task_id = await _submit(api, steps=1, delay=30)
    async with async_client(api, nats_url=nats_url) as c:
        seen: list[Event] = []
        started = asyncio.Event()

        async def follow() -> None:
            async for event in c.tasks.events(task_id, via=via, timeout=30):
                seen.append(event)
                if event.type == "task.started":
                    started.set()

        following = asyncio.create_task(follow())
        await asyncio.wait_for(started.wait(), 30)
        assert (await c.tasks.cancel(task_id)).status == "cancelled"
        await asyncio.wait_for(following, 30)
    assert seen[-1].type == "task.cancelled"
    assert _seen(seen) == await _log(api, task_id)


async def test_a_stream_of_a_task_that_has_already_ended_replays_it_over_nats(api, nats_url):
    task_id = await _submit(api, steps=1)
    async with async_client(api, nats_url=nats_url) as c:
        await c.tasks.wait(task_id, via="http")
        events = [e async for e in c.tasks.events(task_id, via="nats", timeout=30)]
    assert _seen(events) == await _log(api, task_id)


@pytest.mark.parametrize("via", ["nats", "http"])
async def test_wait_returns_the_ended_task_from_either_client(api, nats_url, via):
    first, second = await _submit(api, **SLOW), await _submit(api, **SLOW)

    def scenario() -> str:
        with client(api, nats_url=nats_url) as c:
            return c.tasks.wait(first, via=via, timeout=30).status

    assert await in_thread(scenario) == "completed"
    async with async_client(api, nats_url=nats_url) as c:
        task = await c.tasks.wait(second, via=via, timeout=30)
    assert (task.status, task.progress) == ("completed", 100)


@pytest.mark.parametrize("via", ["nats", "http"])
async def test_wait_gives_up_at_its_timeout(api, nats_url, via):
    task_id = await _submit(api, steps=1, delay=30)
    async with async_client(api, nats_url=nats_url) as c:
        with pytest.raises(WaitTimeoutError) as e:
            await c.tasks.wait(task_id, via=via, timeout=0.5)
        await c.tasks.cancel(task_id)
    assert e.value.task_id == task_id and e.value.status in ("queued", "in_progress")
    assert isinstance(e.value, TimeoutError)


async def test_auto_falls_back_to_http_when_nats_is_not_reachable(api):
    task_id = await _submit(api, steps=1)
    unreachable = f"nats://127.0.0.1:{free_port()}"
    async with async_client(api, nats_url=unreachable) as c:
        events = [e async for e in c.tasks.events(task_id, timeout=30)]
        assert (await c.tasks.wait(task_id, timeout=30)).status == "completed"
        with pytest.raises(EventStreamUnavailable):  # unless NATS was asked for
            [e async for e in c.tasks.events(task_id, via="nats")]
    assert _seen(events) == await _log(api, task_id)


async def test_a_key_without_admin_follows_over_nats_and_is_refused_the_http_log(api, nats_url):
    reader = (await make_key(api, ["read"]))["api_key"]
    task_id = await _submit(api, steps=1)
    async with async_client(api, key=reader, nats_url=nats_url) as c:
        events = [e async for e in c.tasks.events(task_id, timeout=30)]
        assert events[-1].type == "task.completed"
        assert (await c.tasks.wait(task_id, via="http")).status == "completed"
        with pytest.raises(PermissionDeniedError):
            [e async for e in c.tasks.events(task_id, via="http")]


async def test_when_nats_never_shows_an_ended_tasks_events_http_takes_over(api, tmp_path):
    """A NATS whose stream does not hold the task (its events aged out, or another
    node's server): after a few quiet seconds, the log over HTTP."""
    task_id = await _submit(api, steps=1)
    async with EmbeddedNatsServer(tmp_path, port=free_port()) as elsewhere:
        connection = await nats.connect(elsewhere.url)
        try:
            await connection.jetstream().add_stream(name="AMAS_EVENTS", subjects=["task.>"])
        finally:
            await connection.close()
        async with async_client(api, nats_url=elsewhere.url) as c:
            await c.tasks.wait(task_id, via="http")
            events = [e async for e in c.tasks.events(task_id, timeout=30)]
            with pytest.raises(EventStreamUnavailable, match="never showed it"):
                [e async for e in c.tasks.events(task_id, via="nats", timeout=30)]
    assert _seen(events) == await _log(api, task_id)
