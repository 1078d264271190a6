"""The OpenAPI document says what each operation may answer, the refusals included."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from api import openapi
from api.auth.scopes import ADMIN, READ
from api.schemas import AgentConfigBody
from tests.api.support import document

DOCUMENT = document()
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
RATE_LIMIT_HEADERS = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def statuses(spec: dict[str, Any], method: str, path: str) -> set[int]:
    return {int(s) for s in spec["paths"][path][method.lower()]["responses"]}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/v1/health", {200, 429, 503}),
        ("GET", "/api/v1/agents", {200, 401, 403, 429}),
        ("GET", "/api/v1/tasks", {200, 401, 403, 422, 429, 503}),
        ("GET", "/api/v1/tasks/{task_id}", {200, 401, 403, 404, 422, 429, 503}),
        ("POST", "/api/v1/tasks", {201, 400, 401, 403, 409, 413, 422, 429, 503}),
        ("DELETE", "/api/v1/tasks/{task_id}", {200, 400, 401, 403, 404, 409, 413, 422, 429, 503}),
        ("PUT", "/api/v1/agents/{agent_id}/config", {200, 400, 401, 403, 404, 413, 422, 429, 503}),
        ("GET", "/api/v1/events", {200, 401, 403, 422, 429}),
    ],
)
def test_each_operation_lists_the_statuses_it_can_answer(
    method: str, path: str, expected: set[int]
) -> None:
    assert statuses(DOCUMENT, method, path) == expected


def test_every_refusal_is_documented_as_the_error_envelope() -> None:
    for method, path, operation in operations(DOCUMENT):
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response["headers"], (method, path, status)
            if int(status) < 400 or (path, status) == ("/api/v1/health", "503"):
                continue  # health's 503 is its own body, status "degraded"
            assert response["content"] == {"application/json": {"schema": ENVELOPE}}, (
                method,
                path,
                status,
            )
            assert response["description"]


def test_the_envelope_is_the_one_the_handlers_send() -> None:
    envelope = DOCUMENT["components"]["schemas"]["ErrorEnvelope"]
    error = envelope["properties"]["error"]
    assert envelope["required"] == ["error"] and envelope["additionalProperties"] is False
    assert error["required"] == ["code", "message", "details", "request_id", "timestamp"]
    assert "VALIDATION_ERROR" in error["properties"]["code"]["enum"]
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]


def test_a_429_documents_the_rate_limit_headers() -> None:
    for method, path, operation in operations(DOCUMENT):
        headers = operation["responses"]["429"]["headers"]
        assert RATE_LIMIT_HEADERS | {"Retry-After"} <= set(headers), (method, path)
        assert all(headers[name]["schema"]["type"] == "integer" for name in RATE_LIMIT_HEADERS)


def test_only_the_open_paths_go_without_a_key() -> None:
    for method, path, operation in operations(DOCUMENT):
        if path == "/api/v1/health":
            assert "security" not in operation
        elif path == "/metrics":  # Prometheus sends the key as a bearer token
            assert operation["security"] == [{"APIKeyHeader": []}, {"BearerKey": []}]
        else:
            assert operation["security"] == [{"APIKeyHeader": []}], (method, path)
    assert DOCUMENT["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert DOCUMENT["components"]["securitySchemes"]["BearerKey"]["scheme"] == "bearer"


def test_the_statuses_follow_from_what_a_route_is() -> None:
    router = APIRouter(prefix="/things", responses={503: {"description": "it waits"}})

    @router.get("/{thing_id}", dependencies=[READ])
    async def get_thing(thing_id: str) -> dict[str, str]:
        return {}

    @router.put("/{thing_id}")
    async def put_thing(thing_id: str, body: AgentConfigBody) -> dict[str, str]:
        return {}

    @router.delete("", dependencies=[ADMIN, READ])
    async def delete_things() -> dict[str, str]:
        return {}

    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    openapi.install(app)
    spec = app.openapi()

    got, put = (statuses(spec, m, "/api/v1/things/{thing_id}") for m in ("GET", "PUT"))
    assert got == {200, 401, 403, 404, 422, 429, 503}
    assert put == {200, 400, 401, 404, 413, 422, 429, 503}  # no scope, no 403; a PUT, no 409
    deleted = statuses(spec, "DELETE", "/api/v1/things")
    assert deleted == {200, 400, 401, 403, 409, 413, 429, 503}  # no input to validate, no 422
    forbidden = spec["paths"]["/api/v1/things"]["delete"]["responses"]["403"]["description"]
    assert "admin or read" in forbidden
    assert spec["paths"]["/api/v1/things/{thing_id}"]["get"]["responses"]["503"] == {
        "description": "it waits",
        "headers": {"X-Request-ID": openapi._REQUEST_ID},
        "content": {"application/json": {"schema": ENVELOPE}},
    }
