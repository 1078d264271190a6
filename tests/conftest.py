"""Fixtures shared by every suite: a real node (its own nats-server, store and actors),
its HTTP API served by uvicorn on a free port, and NATS clients for subscribers.

    node_config   NodeConfig in the test's tmp_path; override it in a module to change agents
    node          a started Node
    api           httpx.AsyncClient on http://127.0.0.1:<port>/api/v1 serving edge_app(node)
    shared_config, shared_node, shared_api
                  the same for a node shared by a module (see shared_node)
    nats_client   a nats-py connection to the node's server
    shared_nats_client  the same for the module's shared node, on the module's loop
    tap           `await tap("task.*")`: a subscription that collects envelopes (EventTap)
    eventually    `await eventually(check, "what")`: bounded polling of a condition
    wait_task     `await wait_task(task_id, "completed")`: bounded polling of GET /tasks/{id}
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest
import pytest_asyncio
import uvicorn
from nats.aio.client import Client
from nats.aio.msg import Msg

from actors.providers.catalog import from_env
from amas.runtime.edge import edge_app
from amas.runtime.nats_server import free_port
from amas.runtime.node import Node, NodeConfig
from amas.runtime.settings import DataPaths
from api.app import close_streams
from api.settings import EdgeSettings

WAIT = 10.0
"""Upper bound for anything a test waits on; never a measure of speed."""


ADMIN_KEY = f"test-admin-{secrets.token_urlsafe(16)}"
"""Each test session's AMAS_API_KEY: the nodes accept it as an admin key."""

CLIENT_TLS = httpx.create_ssl_context()
"""What the tests' HTTP clients verify TLS with: httpx's default (certifi's CAs), made once.
Left to itself httpx makes one for every client, loading the whole CA bundle each time
(50-100 ms of CPU), even for a client that only ever speaks plain HTTP to a node."""


@contextlib.asynccontextmanager
async def serving(
    node: Node, settings: EdgeSettings | None = None, key: str | None = ADMIN_KEY
) -> AsyncIterator[httpx.AsyncClient]:
    """edge_app(node) on uvicorn at a free loopback port, and a client for /api/v1
    that sends `key` (the admin key unless told otherwise; None sends none)."""
    port = free_port()
    app = edge_app(node, settings or EdgeSettings())
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    running = asyncio.create_task(server.serve())
    async with asyncio.timeout(WAIT):
        while not server.started:
            if running.done():
                running.result()  # uvicorn gave up (port taken ...): show why
            await asyncio.sleep(0.01)
    try:
        headers = {"X-API-Key": key} if key else {}
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers=headers,
            timeout=WAIT,
            verify=CLIENT_TLS,
        ) as client:
            yield client
    finally:
        close_streams(app)  # open event streams would keep uvicorn waiting
        server.should_exit = True
        await running


def fresh_config(root: Path) -> NodeConfig:
    """A node of its own; no AI provider configured (a developer's own keys in the
    environment must never reach a vendor from a test)."""
    return NodeConfig(
        data=DataPaths(root / "data"),
        nats_port=free_port(),
        admin_key=ADMIN_KEY,
        providers=from_env({"AMAS_PROVIDER_OLLAMA_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"}),
    )


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    return fresh_config(tmp_path)


@pytest.fixture
async def node(node_config: NodeConfig) -> AsyncIterator[Node]:
    async with Node(node_config) as running:
        yield running


@pytest.fixture
async def api(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(node) as client:
        yield client


@pytest.fixture(scope="module")
def shared_config(tmp_path_factory: pytest.TempPathFactory) -> NodeConfig:
    """The configuration of a module's shared node; override it in a module (module scope)
    to change agents or scopes."""
    return fresh_config(tmp_path_factory.mktemp("node"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_node(shared_config: NodeConfig) -> AsyncIterator[Node]:
    """One node for a whole module, for tests that only read, get refused, or make their
    own tasks, keys and workflows and look at those only (never at counts of everything,
    a restart, or state another test changes: those keep a node of their own).

    Such a module runs its tests on the module's loop
    (`pytestmark = pytest.mark.asyncio(loop_scope="module")`), and any async fixture
    its tests use must run there too: to give its tests this node as `node` and `api`,

        @pytest.fixture(scope="module")
        def node(shared_node): return shared_node
        @pytest.fixture(scope="module")
        def api(shared_api): return shared_api
        @pytest.fixture
        def nats_client(shared_nats_client): return shared_nats_client  # for `tap`
    """
    async with Node(shared_config) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_api(shared_node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """The API of the module's shared node (see shared_node)."""
    async with serving(shared_node) as client:
        yield client


@pytest.fixture
async def nats_client(node: Node) -> AsyncIterator[Client]:
    nc = await nats.connect(node.nats_url)
    try:
        yield nc
    finally:
        await nc.close()


@pytest_asyncio.fixture(loop_scope="module")
async def shared_nats_client(shared_node: Node) -> AsyncIterator[Client]:
    """A connection of the test's own to the module's shared node, on the module's loop:
    its subscriptions end with the test."""
    nc = await nats.connect(shared_node.nats_url)
    try:
        yield nc
    finally:
        await nc.close()


class EventTap:
    """Every envelope published on a subject, in arrival order, with its NATS headers."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._arrived = asyncio.Condition()

    async def on_message(self, msg: Msg) -> None:
        async with self._arrived:
            self.events.append(msgspec.json.decode(msg.data))
            self.headers.append(dict(msg.headers or {}))
            self._arrived.notify_all()

    def of(self, key: str, value: Any) -> list[dict[str, Any]]:
        """The events whose data[key] == value (e.g. one task's life)."""
        return [e for e in self.events if e["data"].get(key) == value]

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first event (already seen or still to come) that satisfies `predicate`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._arrived:
                while True:
                    for event in self.events:
                        if predicate(event):
                            return event
                    await self._arrived.wait()
        seen = [(e["type"], e["data"]) for e in self.events]
        raise AssertionError(f"no such event within {timeout:g} s; seen: {seen}")

    async def wait_for_type(self, type_: str, timeout: float = WAIT, **data: Any) -> dict[str, Any]:
        return await self.wait_for(
            lambda e: e["type"] == type_ and all(e["data"].get(k) == v for k, v in data.items()),
            timeout,
        )


@pytest.fixture
def tap(nats_client: Client) -> Callable[[str], Awaitable[EventTap]]:
    """Sync, so that it serves a test on whichever loop its `nats_client` runs."""

    async def subscribe(subject: str) -> EventTap:
        collected = EventTap()
        await nats_client.subscribe(subject, cb=collected.on_message)
        await nats_client.flush()  # the server knows the subscription before the test acts
        return collected

    return subscribe


@pytest.fixture
def eventually() -> Callable[..., Awaitable[None]]:
    """`await eventually(check, "what")`: poll `check()` (sync or async) until it is true."""

    async def wait(check: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while True:
                    outcome = check()
                    if inspect.isawaitable(outcome):
                        outcome = await outcome
                    if outcome:
                        return
                    await asyncio.sleep(0.02)
        raise AssertionError(f"not within {timeout:g} s: {what}")

    return wait


@pytest.fixture
def wait_task(api: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """`await wait_task(task_id, "completed", "failed")`: poll GET /tasks/{id} until its
    status is one of those, bounded; returns the task as last read."""
    return task_waiter(api)


def task_waiter(api: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """wait_task for the node behind `api` (one a test started itself)."""

    async def wait(task_id: str, *statuses: str, timeout: float = WAIT) -> dict[str, Any]:
        task: dict[str, Any] = {}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while True:
                    response = await api.get(f"/tasks/{task_id}")
                    assert response.status_code == 200, response.text
                    task = response.json()
                    if task["status"] in statuses:
                        return task
                    await asyncio.sleep(0.02)
        raise AssertionError(f"task {task_id} never reached {' or '.join(statuses)}: {task}")

    return wait


# Fake AI vendors for a node's first providers (tests/api/vendors.py); last, since that
# module builds on fresh_config above.
from tests.api.vendors import vendors  # noqa: E402

__all__ = ["vendors"]
