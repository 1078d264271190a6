"""The SDK covers the node's API: every operation in the running node's OpenAPI
document has an SDK method, and every SDK method calls an operation the node has."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import httpx
import pytest

from amas.sdk import AsyncClient, Client
from amas.sdk._endpoint import OPERATIONS, Resource

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOT_THE_API = ("/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
"""Pages for people, not operations for programs: the web console at `/` (and its
static files under /ui/), the interactive docs and the document itself."""

AHEAD_OF_THE_NODE: set[tuple[str, str]] = set()
"""Routes the SDK may have before the node serves them (none now)."""


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


async def _operations(api: httpx.AsyncClient) -> set[tuple[str, str]]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200, response.text
    return {
        (method.upper(), path)
        for path, item in response.json()["paths"].items()
        if path not in NOT_THE_API and not path.startswith("/ui/")
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }


async def test_every_operation_of_the_node_has_an_sdk_method(api):
    operations = await _operations(api)
    assert len(operations) >= 50
    missing = sorted(f"{method} {path}" for method, path in operations - set(OPERATIONS))
    assert not missing, f"operations without an SDK method: {missing}"


async def test_every_sdk_method_calls_an_operation_of_the_node(api):
    unknown = set(OPERATIONS) - await _operations(api) - AHEAD_OF_THE_NODE
    assert not unknown, f"SDK methods for operations the node does not have: {sorted(unknown)}"


def _resources(root: Any, path: str) -> dict[str, str]:
    """Resource class name -> where it hangs on a client (`client.workflows.orchestrator`)."""
    found: dict[str, str] = {}
    for name, value in vars(root).items():
        if isinstance(value, Resource) and not name.startswith("_"):
            found[type(value).__name__] = f"{path}.{name}"
            found.update(_resources(value, f"{path}.{name}"))
    return found


async def test_every_registered_method_is_reachable_from_both_clients():
    async with AsyncClient("http://127.0.0.1:9", api_key="unused") as asynchronous:
        with Client("http://127.0.0.1:9", api_key="unused") as blocking:
            for made in (blocking, asynchronous):
                where = _resources(made, "client")
                for name in itertools.chain.from_iterable(OPERATIONS.values()):
                    owner, method = name.split(".")
                    assert owner in where, f"{name} hangs nowhere on {type(made).__name__}"
                    path = where[owner].split(".")[1:]
                    resource = functools.reduce(getattr, path, made)
                    assert callable(getattr(resource, method)), name
