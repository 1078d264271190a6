"""GET /events/stream: the log followed live as server-sent events, over real HTTP.

A task's whole life arrives in order, each event the envelope the audit API has, with
its position as the SSE id; a reconnect with Last-Event-ID goes on where it stopped; a
read key gets only what it may read, without meta; a quiet stream sends keep-alives;
stopping the server ends open streams (`amas serve`'s: tests/amas/cli/test_serve_cmd.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from amas.runtime.node import Node
from api.routes import event_stream
from tests.api.support import as_key, assert_envelope, keyless, make_key, submit_echo
from tests.conftest import ADMIN_KEY, WAIT, serving

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node: Node) -> Node:
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


class Sse:
    """One server-sent event: its fields as sent (comments kept apart)."""

    def __init__(self, fields: dict[str, str], comments: list[str]) -> None:
        self.event = fields.get("event", "message")
        self.id = fields.get("id")
        self.data = fields.get("data", "")
        self.retry = fields.get("retry")
        self.comments = comments

    def json(self) -> Any:
        return json.loads(self.data)


async def sse(response: httpx.Response) -> AsyncIterator[Sse]:
    """The events (and bare comments) of a text/event-stream response, as they come."""
    fields: dict[str, str] = {}
    comments: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if fields or comments:
                yield Sse(fields, comments)
            fields, comments = {}, []
        elif line.startswith(":"):
            comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[name] = fields[name] + "\n" + value if name in fields else value


async def until(events: AsyncIterator[Sse], done: Any) -> list[Sse]:
    """The events up to and including the first for which `done(event)` holds."""
    seen = []
    async with asyncio.timeout(WAIT):
        async for event in events:
            seen.append(event)
            if done(event):
                return seen
    raise AssertionError(f"the stream ended before the awaited event: {[e.event for e in seen]}")


def ended(task_id: str) -> Any:
    return lambda e: e.event == "task.completed" and e.json()["data"]["task_id"] == task_id


async def test_a_task_is_streamed_from_created_to_completed_as_the_log_has_it(api):
    async with api.stream("GET", "/events/stream", params={"type": "task.*"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        events = sse(response)
        ready = await anext(events)
        task_id = await submit_echo(api, steps=2)
        seen = await until(events, ended(task_id))

    assert ready.event == "ready" and ready.retry == str(event_stream.RETRY_MS)
    assert ready.json()["scopes"] == ["admin", "read", "write"]
    mine = [e for e in seen if e.json()["stream"] == task_id]
    assert [e.event for e in mine] == [
        "task.created", "task.started", "task.progress", "task.progress", "task.completed",
    ]  # fmt: skip
    positions = [int(e.id or 0) for e in mine]
    assert positions == sorted(positions) and positions[0] > ready.json()["position"]
    assert all(e.json()["position"] == int(e.id or 0) for e in mine)
    audit = (await api.get("/events", params={"stream": task_id, "type": "task.*"})).json()[
        "events"
    ]
    assert [e.json() for e in mine] == audit  # the envelopes the audit API (and NATS) have


async def test_a_reconnect_with_last_event_id_goes_on_after_it(api):
    task_id = await submit_echo(api, steps=3)
    params = {"stream": task_id, "from_position": 1}
    async with api.stream("GET", "/events/stream", params=params) as response:
        first = await until(sse(response), ended(task_id))
    created, decided = first[1], first[2]
    assert (created.event, decided.event) == ("task.created", "ml.decision")

    resume = {"Last-Event-ID": created.id or ""}
    async with api.stream("GET", "/events/stream", params=params, headers=resume) as response:
        events = sse(response)
        ready = await anext(events)
        again = await until(events, ended(task_id))

    assert ready.json()["position"] == int(created.id or 0)  # Last-Event-ID wins
    assert [e.id for e in again] == [e.id for e in first[2:]]


async def test_a_read_key_sees_tasks_without_meta_and_no_key_or_webhook_events(api):
    reader = (await make_key(api, ["read"]))["api_key"]
    async with api.stream("GET", "/events/stream", headers=as_key(reader)) as response:
        events = sse(response)
        ready = (await anext(events)).json()
        await make_key(api, ["read"])  # an apikey.created this key must not see
        hook = await api.post(
            "/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["task.*"]}
        )
        assert hook.status_code == 201, hook.text
        task_id = await submit_echo(api)
        seen = await until(events, ended(task_id))

    assert ready["scopes"] == ["read"] and ready["tier"] == "pro"
    assert {e.event.split(".")[0] for e in seen} <= {"task", "agent", "workflow", "system"}
    created = next(e.json() for e in seen if e.event == "task.created")
    assert created["data"]["task_id"] == task_id
    assert created["meta"] == {}
    assert "api_key_id" not in created["data"] and "request_hash" not in created["data"]
    admin_view = (await api.get("/events", params={"stream": task_id})).json()["events"][0]
    assert admin_view["meta"]["api_key_id"] and "api_key_id" in admin_view["data"]


async def test_a_read_key_goes_back_a_bounded_way_and_ready_says_where_it_starts(api, monkeypatch):
    monkeypatch.setattr(event_stream, "READ_BACKLOG", 3)
    reader = (await make_key(api, ["read"]))["api_key"]
    await submit_echo(api)
    params = {"from_position": 1}
    async with api.stream("GET", "/events/stream", params=params) as response:
        admin = (await anext(sse(response))).json()
    async with api.stream(
        "GET", "/events/stream", params=params, headers=as_key(reader)
    ) as response:
        ready = (await anext(sse(response))).json()

    assert admin["position"] == 0
    assert ready["position"] == ready["head"] - 3 > 0


async def test_filters_by_type_and_by_stream_prefix(api):
    async with api.stream(
        "GET", "/events/stream", params={"type": ["task.completed"], "stream": "task-*"}
    ) as response:
        events = sse(response)
        await anext(events)
        task_id = await submit_echo(api)
        seen = await until(events, ended(task_id))

    assert {e.event for e in seen} == {"task.completed"}


async def test_a_quiet_stream_sends_keep_alive_comments(api, monkeypatch):
    monkeypatch.setattr(event_stream, "HEARTBEAT", 0.05)
    async with api.stream("GET", "/events/stream", params={"stream": "nothing-*"}) as response:
        events = sse(response)
        await anext(events)
        quiet = await anext(events)

    assert quiet.comments == ["keep-alive"] and quiet.id is None


@pytest.mark.parametrize(
    ("params", "headers", "parameter"),
    [
        ({"from_position": 0}, {}, "from_position"),
        ({"from_position": 2**63}, {}, "from_position"),
        ({"stream": ""}, {}, "stream"),
        ({}, {"Last-Event-ID": "x"}, "last-event-id"),
        ({}, {"Last-Event-ID": "-1"}, "last-event-id"),
    ],
)
async def test_bad_input_is_a_422_in_the_envelope(api, params, headers, parameter):
    response = await api.get("/events/stream", params=params, headers=headers)

    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert [e["parameter"] for e in error["details"]["errors"]] == [parameter]


async def test_a_stream_needs_a_key_with_the_read_scope(api):
    writer = (await make_key(api, ["write"]))["api_key"]
    async with keyless(api) as anonymous:
        assert_envelope(await anonymous.get("/events/stream"), 401, "UNAUTHORIZED")
        refused = await anonymous.get("/events/stream", headers=as_key(writer))

    assert assert_envelope(refused, 403, "FORBIDDEN")["details"]["required"] == "read"


async def test_stopping_the_server_ends_its_open_streams(node):
    opened = asyncio.Event()

    async def follow(client: httpx.AsyncClient) -> int:
        async with client.stream("GET", "/events/stream", headers=as_key(ADMIN_KEY)) as response:
            opened.set()
            return sum([1 async for _ in sse(response)])

    async with asyncio.timeout(WAIT):
        async with serving(node) as api:
            # a client of its own: serving()'s closes with it, and would cut the stream
            client = keyless(api)
            reading = asyncio.create_task(follow(client))
            await opened.wait()
        # serving() has stopped its server: the stream ended rather than holding it up
        assert await reading == 1  # the ready event, then the end
        await client.aclose()
