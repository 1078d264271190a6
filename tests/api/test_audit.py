"""The audit API over real HTTP on a real node: GET /events (filters, paging) and
GET /events/verify (the hash chain, also after a byte of the log was changed).

The tests share one node: each compares what the API answers with the log as it is
then (whatever other tests wrote before it, all finished). Those that break the chain,
add 60,000 events or need the log's exact length have a node of their own (`own_node`,
`own_api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio
from nats.aio.client import Client

from amas.runtime.node import Node, NodeConfig
from events.envelope import encode_event
from events.types import SystemAlerted
from tests.api.support import as_key, assert_envelope, keyless, make_key
from tests.conftest import serving, task_waiter

Tap = Callable[[str], Awaitable[Any]]
WaitTask = Callable[..., Awaitable[dict[str, Any]]]

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node: Node) -> Node:
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


@pytest.fixture
def nats_client(shared_nats_client: Client) -> Client:
    return shared_nats_client


@pytest_asyncio.fixture(loop_scope="module")
async def own_node(node_config: NodeConfig) -> AsyncIterator[Node]:
    async with Node(node_config) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def own_api(own_node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(own_node) as client:
        yield client


async def run_tasks(api: httpx.AsyncClient, wait_task: WaitTask, count: int) -> list[str]:
    """`count` echo tasks submitted one after another, each waited for."""
    ids = []
    for n in range(count):
        response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"n": n}})
        assert response.status_code == 201, response.text
        ids.append(response.json()["task_id"])
        await wait_task(ids[-1], "completed")
    return ids


async def all_pages(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every page from from_position=1 (or as given), following next_position."""
    pages: list[dict[str, Any]] = []
    params = {"from_position": 1, **params}
    while True:
        response = await api.get("/events", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if not pages[-1]["has_more"]:
            return pages
        assert pages[-1]["next_position"] > params["from_position"]
        params["from_position"] = pages[-1]["next_position"]


async def logged(node: Node) -> list[dict[str, Any]]:
    """The whole log as the relay encodes it, read through the store."""
    return [msgspec.json.decode(encode_event(e)) for e in await node.store.read_all(1, 100_000)]


def tamper(events_db: Path, position: int, change: Callable[[bytes], bytes]) -> bytes:
    """Change one event's stored data with the update trigger out of the way, as someone
    with the file could; the trigger is put back. Returns the new bytes."""
    with contextlib.closing(sqlite3.connect(events_db, isolation_level=None)) as db:
        [(data,)] = db.execute("SELECT data FROM events WHERE position = ?", (position,))
        [(trigger,)] = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'events_refuse_update'"
        )
        changed = change(data)
        db.execute("DROP TRIGGER events_refuse_update")
        db.execute("UPDATE events SET data = ? WHERE position = ?", (changed, position))
        db.execute(trigger)
    return bytes(changed)


def flip_last_letter(value: bytes) -> bytes:
    at = max(i for i, b in enumerate(value) if chr(b).isalpha())
    return value[:at] + bytes([value[at] ^ 0x20]) + value[at + 1 :]


async def test_the_log_is_for_admin_keys_only(api: httpx.AsyncClient) -> None:
    reader_writer = as_key((await make_key(api, ["read", "write"]))["api_key"])
    async with keyless(api) as anonymous:
        for path in ("/events", "/events/verify"):
            assert_envelope(await anonymous.get(path), 401, "UNAUTHORIZED")
            error = assert_envelope(await api.get(path, headers=reader_writer), 403, "FORBIDDEN")
            assert error["details"] == {"required": "admin", "granted": ["read", "write"]}
            assert (await api.get(path)).status_code == 200


async def test_pages_hold_the_whole_log_as_the_relay_publishes_it(
    api: httpx.AsyncClient, node: Node, wait_task: WaitTask, tap: Tap
) -> None:
    published = await tap("task.*")
    await run_tasks(api, wait_task, 3)

    pages = await all_pages(api, limit=7)

    events = [e for page in pages for e in page["events"]]
    assert events == await logged(node)
    assert [e["position"] for e in events] == list(range(1, node.store.head + 1))
    assert all(len(page["events"]) == 7 for page in pages[:-1])
    for page, following in itertools.pairwise(pages):
        assert following["events"][0]["position"] == page["next_position"]
    assert pages[-1]["next_position"] == pages[-1]["head"] + 1 == node.store.head + 1
    # Byte for byte what NATS subscribers got, for the events they have seen.
    task_events = {e["event_id"]: e for e in events if e["type"].startswith("task.")}
    assert published.events
    for envelope in published.events:
        assert task_events[envelope["event_id"]] == envelope


async def test_stream_and_type_filters_exact_and_by_prefix(
    api: httpx.AsyncClient, node: Node, wait_task: WaitTask
) -> None:
    first, *_ = await run_tasks(api, wait_task, 3)
    everything = await logged(node)

    async def read(**params: Any) -> list[dict[str, Any]]:
        return [e for page in await all_pages(api, limit=1000, **params) for e in page["events"]]

    one_task = await read(stream=first)
    assert [e["type"] for e in one_task] == [
        "task.created",
        "ml.decision",  # the decision engine's choice, written with the start
        "task.started",
        "task.progress",
        "task.completed",
    ]
    assert [e["version"] for e in one_task] == [1, 2, 3, 4, 5]
    assert one_task == [e for e in everything if e["stream"] == first]

    assert await read(stream="task-*") == [e for e in everything if e["stream"].startswith("task-")]
    assert await read(stream="task-") == []  # without '*' it is a stream's exact name
    assert await read(type="task.completed") == [
        e for e in everything if e["type"] == "task.completed"
    ]
    assert await read(type="task.*") == [e for e in everything if e["type"].startswith("task.")]
    both = await read(type=["task.created", "agent.*"])
    assert both == [
        e for e in everything if e["type"] == "task.created" or e["type"].startswith("agent.")
    ]
    assert {e["type"] for e in both} >= {"task.created", "agent.started"}

    middle = everything[len(everything) // 2]["position"]
    assert await read(from_position=middle, type="task.*", stream="task-*") == [
        e for e in everything if e["position"] >= middle and e["type"].startswith("task.")
    ]


async def test_to_time_stops_at_events_committed_after_it(
    own_api: httpx.AsyncClient, own_node: Node
) -> None:
    """The cut is chosen so that the last page is full (3 events): the reading then
    stops at the first event after the cut rather than at the head."""
    api, node, wait_task = own_api, own_node, task_waiter(own_api)
    await run_tasks(api, wait_task, 3)
    everything = await logged(node)

    def upto(ts: str) -> list[dict[str, Any]]:
        cut = datetime.fromisoformat(ts)
        return [e for e in everything if datetime.fromisoformat(e["ts"]) <= cut]

    stamps = sorted({e["ts"] for e in everything}, key=datetime.fromisoformat)
    cut = next(ts for ts in stamps[len(stamps) // 2 :] if len(upto(ts)) % 3 == 0)
    expected = upto(cut)
    assert 0 < len(expected) < len(everything)

    pages = await all_pages(api, to_time=cut, limit=3)
    assert [e for page in pages for e in page["events"]] == expected
    assert pages[-1]["has_more"] is False
    assert pages[-1]["next_position"] <= node.store.head  # stopped early: the rest is later

    naive = datetime.fromisoformat(cut).astimezone(UTC).replace(tzinfo=None).isoformat()
    assert [
        e for page in await all_pages(api, to_time=naive, limit=1000) for e in page["events"]
    ] == expected  # a time without a zone is UTC
    early = (await api.get("/events", params={"to_time": "2000-01-01T00:00:00Z"})).json()
    assert (early["events"], early["has_more"]) == ([], False)


async def test_a_page_past_the_head_is_empty_and_says_so(
    api: httpx.AsyncClient, node: Node
) -> None:
    page = (await api.get("/events", params={"from_position": node.store.head + 5})).json()
    assert page == {
        "events": [],
        "next_position": node.store.head + 5,
        "head": node.store.head,
        "has_more": False,
    }
    default = (await api.get("/events")).json()
    assert len(default["events"]) == min(100, node.store.head)
    assert default["events"][0]["position"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"from_position": 0},
        {"from_position": -3},
        {"to_time": "yesterday"},
        {"stream": ""},
    ],
)
async def test_parameters_out_of_bounds_get_422(
    api: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    error = assert_envelope(await api.get("/events", params=params), 422, "VALIDATION_ERROR")
    [problem] = error["details"]["errors"]
    assert problem["parameter"] == next(iter(params))


async def test_limit_1000_is_allowed(api: httpx.AsyncClient, node: Node) -> None:
    response = await api.get("/events", params={"limit": 1000})
    assert response.status_code == 200, response.text
    assert len(response.json()["events"]) == node.store.head


async def test_verify_is_ok_on_a_fresh_log(
    api: httpx.AsyncClient, node: Node, wait_task: WaitTask
) -> None:
    await run_tasks(api, wait_task, 2)
    response = await api.get("/events/verify")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ok": True,
        "events": node.store.head,
        "first_bad_position": None,
        "reason": None,
        "head": node.store.head,
    }


async def test_verify_names_the_position_where_one_changed_byte_breaks_the_chain(
    own_api: httpx.AsyncClient, own_node: Node
) -> None:
    api, node, wait_task = own_api, own_node, task_waiter(own_api)
    await run_tasks(api, wait_task, 3)
    everything = await logged(node)
    [victim] = [e["position"] for e in everything if e["type"] == "task.completed"][1:2]
    changed = tamper(node.config.data.events_db, victim, flip_last_letter)

    result = (await api.get("/events/verify")).json()

    assert result["ok"] is False
    assert result["first_bad_position"] == victim
    assert result["events"] == victim - 1
    assert "hash" in result["reason"]
    assert result["head"] == node.store.head
    # The log page shows what is stored now, the changed byte included.
    [shown] = (await api.get("/events", params={"from_position": victim, "limit": 1})).json()[
        "events"
    ]
    assert msgspec.json.encode(shown["data"]) == changed
    assert shown["hash"] == everything[victim - 1]["hash"]


async def test_a_row_that_is_no_longer_json_still_pages_and_fails_verify(
    own_api: httpx.AsyncClient, own_node: Node
) -> None:
    api, node, wait_task = own_api, own_node, task_waiter(own_api)
    await run_tasks(api, wait_task, 1)
    victim = node.store.head - 1
    broken = tamper(node.config.data.events_db, victim, lambda data: b"<" + data[1:])

    response = await api.get("/events", params={"from_position": victim, "limit": 2})
    assert response.status_code == 200, response.text
    shown = response.json()["events"]
    assert shown[0]["data"] == broken.decode()  # the stored text, as a JSON string
    assert shown[1]["position"] == victim + 1
    assert (await api.get("/events/verify")).json()["first_bad_position"] == victim


async def test_other_requests_are_answered_while_a_long_verify_runs(
    own_api: httpx.AsyncClient, own_node: Node
) -> None:
    api, node = own_api, own_node
    alert = SystemAlerted(level="info", code="fill", message="x" * 40)
    for _ in range(30):
        await node.store.append("system", -1, [alert] * 1000)
    await node.projections.wait_for(node.store.head, timeout=60)

    verifying = asyncio.create_task(api.get("/events/verify", timeout=120))
    answered = 0
    while not verifying.done():
        response = await api.get("/health")
        assert response.status_code == 200
        answered += 1 if not verifying.done() else 0
    result = (await verifying).json()

    assert result["ok"] is True and result["events"] == node.store.head
    assert answered >= 1
