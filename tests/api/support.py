"""Helpers for the edge tests: keys made through the API, clients without a key."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx

from amas import __version__
from api.app import create_app
from api.settings import EdgeSettings
from tests.conftest import CLIENT_TLS

WAIT = 10.0
"""Upper bound for a task to reach a status; never a measure of speed."""


async def make_key(
    api: httpx.AsyncClient, scopes: list[str] | None = None, tier: str = "pro", **extra: Any
) -> dict[str, Any]:
    """A new key made with the admin client `api`: the 201 body (raw key in `api_key`)."""
    body = {"name": f"test {tier} {','.join(scopes or [])}", "tier": tier, **extra}
    if scopes is not None:
        body["scopes"] = scopes
    response = await api.post("/api-keys", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def keyless(api: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client for the same server that sends no key."""
    return httpx.AsyncClient(base_url=api.base_url, timeout=api.timeout, verify=CLIENT_TLS)


def as_key(raw: str) -> dict[str, str]:
    return {"X-API-Key": raw}


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert error["timestamp"].endswith("Z")
    return error


async def submit_echo(api: httpx.AsyncClient, max_attempts: int = 3, **parameters: Any) -> str:
    """An echo task with `parameters`, submitted with the client `api`: its id."""
    response = await api.post(
        "/tasks",
        json={"task_type": "echo", "parameters": parameters, "max_attempts": max_attempts},
    )
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


async def wait_status(api: httpx.AsyncClient, task_id: str, *statuses: str) -> None:
    """Poll GET /tasks/{id} until its status is one of `statuses` (bounded)."""
    task: dict[str, Any] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WAIT):
            while task.get("status") not in statuses:
                await asyncio.sleep(0.02)
                task = (await api.get(f"/tasks/{task_id}")).json()
            return
    raise AssertionError(f"{task_id} never reached {statuses}: {task}")


async def get_json(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def settled_metrics(
    api: httpx.AsyncClient, eventually: Any, **expected: int
) -> dict[str, Any]:
    """GET /metrics once its performance block shows `expected` (the metrics projection
    may fold the last events a moment after the tasks projection)."""
    seen: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal seen
        seen = await get_json(api, "/metrics")
        return all(seen["performance"][k] == v for k, v in expected.items())

    await eventually(check, f"/metrics shows {expected}")
    return seen


class _Describing:
    """As much of a NodePort as create_app reads to describe the API."""

    version = __version__
    keys = None


def document() -> dict[str, Any]:
    """The API's OpenAPI document, made the way a node makes it, without a node."""
    return create_app(_Describing(), EdgeSettings()).openapi()


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under `root` whose bytes contain `needle`."""
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


SARIF_SCHEMA = Path(__file__).parent.parent / "fixtures" / "sarif-schema-2.1.0.json"


def assert_valid_sarif(response: httpx.Response) -> dict[str, Any]:
    """A SARIF 2.1.0 answer, valid against OASIS's schema: the log."""
    import json

    import jsonschema

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/sarif+json")
    log: dict[str, Any] = response.json()
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    return log
