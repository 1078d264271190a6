"""The edges of the API: retired versions, body size, CORS, and authentication off.

The tests share one node: each serves it with an edge of the settings it checks (or only
gets refused), and looks only at the answers to its own requests.
"""

from __future__ import annotations

import httpx
import pytest

from amas.runtime.node import Node
from api.settings import EdgeSettings
from tests.api.support import assert_envelope, keyless
from tests.conftest import serving

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def node(shared_node: Node) -> Node:
    return shared_node


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


async def test_api_v0_is_gone_with_a_pointer_to_v1(api: httpx.AsyncClient) -> None:
    root = str(api.base_url).removesuffix("/").removesuffix("/api/v1")
    async with keyless(api) as anonymous:
        for path in ("/api/v0/tasks", "/api/v0", "/api/v0/agents/osint-1"):
            response = await anonymous.get(root + path)
            error = assert_envelope(response, 410, "GONE")
            assert error["details"]["sunset"] == "2025-06-01"
            assert error["details"]["successor"] == "/api/v1" + path.removeprefix("/api/v0")
            assert "sunset" in response.headers


async def test_bodies_over_the_limit_get_413(node: Node) -> None:
    async with serving(node, EdgeSettings(max_body_bytes=2_000)) as api:
        small = {"task_type": "echo", "parameters": {"text": "x" * 1_000}}
        assert (await api.post("/tasks", json=small)).status_code == 201

        big = {"task_type": "echo", "parameters": {"text": "x" * 5_000}}
        error = assert_envelope(await api.post("/tasks", json=big), 413, "PAYLOAD_TOO_LARGE")
        assert error["details"] == {"max_bytes": 2_000}

        async def chunks():  # no Content-Length: the limit still holds
            for _ in range(10):
                yield b"x" * 500

        assert_envelope(
            await api.post(
                "/tasks", content=chunks(), headers={"content-type": "application/json"}
            ),
            413,
            "PAYLOAD_TOO_LARGE",
        )

        async def small_chunks():
            yield b'{"task_type": "echo",'
            yield b' "parameters": {"via": "chunks"}}'

        response = await api.post(
            "/tasks", content=small_chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 201, response.text


async def test_cors_is_off_unless_configured(node: Node) -> None:
    preflight = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    async with serving(node) as api:
        response = await api.options("/tasks", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        assert (
            "access-control-allow-origin"
            not in (await api.get("/tasks", headers={"Origin": "http://localhost:3000"})).headers
        )

    settings = EdgeSettings(cors_origins=("http://localhost:3000",))
    async with serving(node, settings) as api:
        async with keyless(api) as browser:  # a preflight carries no key
            response = await browser.options("/tasks", headers=preflight)
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
            other = await browser.options(
                "/tasks", headers={**preflight, "Origin": "http://localhost:9"}
            )
            assert "access-control-allow-origin" not in other.headers
        answer = await api.get("/tasks", headers={"Origin": "http://localhost:3000"})
        assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "x-ratelimit-remaining" in answer.headers["access-control-expose-headers"].lower()


async def test_authentication_can_be_turned_off(node: Node) -> None:
    async with serving(node, EdgeSettings(auth=False), key=None) as api:
        response = await api.get("/tasks")
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers
        assert (await api.post("/tasks", json={"task_type": "echo"})).status_code == 201
