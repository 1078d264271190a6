"""Every refusal is the seed's error envelope with the seed's status code, never a 500."""

from __future__ import annotations

from datetime import datetime

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")


def error_of(response, status: int, code: str) -> dict:
    """The envelope's error, after checking its status, code and shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) >= {"code", "message", "details", "request_id", "timestamp"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert datetime.fromisoformat(error["timestamp"]).tzinfo is not None
    return error


async def test_unknown_task_is_404_not_found(shared_api):
    error = error_of(await shared_api.get("/tasks/task-nope"), 404, "NOT_FOUND")
    assert "task-nope" in error["message"]
    assert error["details"] == {"task_id": "task-nope"}


async def test_results_of_unknown_task_are_404_not_found(shared_api):
    error_of(await shared_api.get("/tasks/task-nope/results"), 404, "NOT_FOUND")


async def test_unknown_task_type_is_400_naming_the_available_types(shared_api):
    response = await shared_api.post("/tasks", json={"task_type": "penetration_test"})

    error = error_of(response, 400, "INVALID_PARAMETER")
    assert "echo" in error["message"]
    assert error["details"]["parameter"] == "task_type"
    assert error["details"]["provided"] == "penetration_test"
    assert "echo" in error["details"]["expected"]
    assert "security_scan" in error["details"]["expected"]  # a composite task type


async def test_malformed_json_is_400_invalid_request(shared_api):
    response = await shared_api.post(
        "/tasks", content=b'{"task_type": "echo",', headers={"Content-Type": "application/json"}
    )
    error_of(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"parameters": {"message": "hi"}}, "task_type"),
        ({"task_type": "echo", "priority": "urgent"}, "priority"),
        ({"task_type": "echo", "colour": "red"}, "colour"),
        ({"task_type": "echo", "parameters": "hi"}, "parameters"),
        ({"task_type": "echo", "max_attempts": 0}, "max_attempts"),
        ({"task_type": "echo", "callback_url": "not a url"}, "callback_url"),
        ({"task_type": ""}, "task_type"),
        ([{"task_type": "echo"}], "body"),
    ],
    ids=[
        "missing-task-type",
        "unknown-priority",
        "extra-field",
        "parameters-not-object",
        "zero-attempts",
        "bad-callback-url",
        "empty-task-type",
        "body-not-object",
    ],
)
async def test_body_that_breaks_the_schema_is_422_validation_error(shared_api, body, parameter):
    response = await shared_api.post("/tasks", json=body)

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert error["message"].startswith(f"{parameter}:")
    assert [e["parameter"] for e in error["details"]["errors"]] == [parameter]


async def test_missing_body_is_422_validation_error(shared_api):
    error_of(await shared_api.post("/tasks"), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_body_that_is_not_json_is_a_4xx_in_the_envelope(shared_api, content_type):
    response = await shared_api.post(
        "/tasks", content=b'{"task_type": "echo"}', headers={"Content-Type": content_type}
    )

    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] in {"INVALID_REQUEST", "VALIDATION_ERROR"}
    assert error["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({"steps": "many"}, "steps"),
        ({"steps": True}, "steps"),
        ({"delay": -1}, "delay"),
        ({"steps": 101}, "steps"),
        ({"delay": 3601}, "delay"),
    ],
)
async def test_parameters_the_skill_refuses_are_400_invalid_parameter(shared_api, parameters, name):
    response = await shared_api.post("/tasks", json={"task_type": "echo", "parameters": parameters})

    error = error_of(response, 400, "INVALID_PARAMETER")
    assert name in error["message"]
    assert error["details"]["parameter"] == name


async def test_refused_submissions_leave_no_task_behind(shared_api):
    before = (await shared_api.get("/tasks")).json()["total"]
    await shared_api.post("/tasks", json={"task_type": "echo", "parameters": {"steps": "x"}})
    await shared_api.post("/tasks", json={"task_type": "nope"})
    await shared_api.post("/tasks", json={"task_type": "echo", "priority": "urgent"})

    assert (await shared_api.get("/tasks")).json()["total"] == before


async def test_unknown_path_is_404_in_the_envelope(shared_api):
    error = error_of(await shared_api.get("/nothing/here"), 404, "NOT_FOUND")
    assert "/api/v1/nothing/here" in error["message"]
    outside = shared_api.base_url.copy_with(path="/nothing")
    error_of(await shared_api.get(outside), 404, "NOT_FOUND")


async def test_wrong_method_is_405_in_the_envelope(shared_api):
    error_of(await shared_api.patch("/tasks", json={}), 405, "METHOD_NOT_ALLOWED")


async def test_request_id_sent_by_the_client_is_echoed_and_in_the_error(shared_api):
    response = await shared_api.get("/tasks/task-nope", headers={"X-Request-ID": "req-xyz789"})

    assert response.headers["X-Request-ID"] == "req-xyz789"
    assert error_of(response, 404, "NOT_FOUND")["request_id"] == "req-xyz789"
    ok = await shared_api.get("/health", headers={"X-Request-ID": "req-health-1"})
    assert ok.headers["X-Request-ID"] == "req-health-1"


async def test_request_id_is_made_up_when_missing_or_unusable(shared_api):
    missing = await shared_api.get("/tasks/task-nope")
    unusable = await shared_api.get("/tasks/task-nope", headers={"X-Request-ID": "two words"})

    for response in (missing, unusable):
        request_id = error_of(response, 404, "NOT_FOUND")["request_id"]
        assert request_id.startswith("req-") and " " not in request_id
    assert missing.headers["X-Request-ID"] != unusable.headers["X-Request-ID"]


async def test_unknown_agent_is_404_not_found(shared_api):
    error = error_of(await shared_api.get("/agents/nope"), 404, "NOT_FOUND")
    assert error["details"] == {"agent_id": "nope"}
    error_of(await shared_api.put("/agents/nope/config", json={"timeout": 10}), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"max_concurrent_tasks": 0}, "max_concurrent_tasks"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -5}, "timeout"),
        ({"priority": "urgent"}, "priority"),
        ({"retries": 3}, "retries"),
    ],
)
async def test_agent_configuration_out_of_bounds_is_422(shared_api, body, parameter):
    response = await shared_api.put("/agents/osint-agent/config", json=body)

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert [e["parameter"] for e in error["details"]["errors"]] == [parameter]
    configuration = (await shared_api.get("/agents/osint-agent")).json()["configuration"]
    assert configuration["max_concurrent_tasks"] >= 1 and configuration["timeout"] > 0


async def test_cancel_of_unknown_task_is_404_not_found(shared_api):
    error_of(await shared_api.delete("/tasks/task-nope"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "ten"}, "limit"),
        ({"status": "running"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"from_date": "yesterday"}, "from_date"),
        ({"to_date": "2025-13-45T00:00:00Z"}, "to_date"),
    ],
)
async def test_task_list_parameters_out_of_range_are_422(shared_api, params, parameter):
    response = await shared_api.get("/tasks", params=params)

    error = error_of(response, 422, "VALIDATION_ERROR")
    assert error["message"].startswith(f"{parameter}:")
    assert [e["parameter"] for e in error["details"]["errors"]] == [parameter]
