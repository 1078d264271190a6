"""Refusals become typed exceptions carrying the seed's envelope: each status the node
answers with, provoked for real on a running node."""

from __future__ import annotations

import httpx
import pytest

from amas.runtime.nats_server import free_port
from amas.sdk import (
    AMASError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from tests.api.support import make_key
from tests.sdk.support import client, in_thread

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


def _envelope(error: APIStatusError, status: int, code: str) -> None:
    assert isinstance(error, AMASError)
    assert (error.status_code, error.code) == (status, code)
    assert error.message and error.request_id and error.request_id.startswith("req-")
    assert error.request_id == error.headers["x-request-id"]
    assert error.timestamp and error.timestamp.endswith("Z")
    assert isinstance(error.details, dict)
    assert error.body["error"]["message"] == error.message


async def test_an_unknown_key_is_an_authentication_error(api):
    def scenario() -> AuthenticationError:
        with client(api, key="amas_nope_nope") as c, pytest.raises(AuthenticationError) as e:
            c.tasks.list().first_page()
        return e.value

    error = await in_thread(scenario)
    _envelope(error, 401, "UNAUTHORIZED")
    assert error.details == {"header": "X-API-Key"}


async def test_a_missing_scope_is_permission_denied(api):
    reader = await make_key(api, ["read"])

    def scenario() -> PermissionDeniedError:
        with client(api, key=reader["api_key"]) as c, pytest.raises(PermissionDeniedError) as e:
            c.tasks.submit("echo")
        return e.value

    error = await in_thread(scenario)
    _envelope(error, 403, "FORBIDDEN")
    assert error.details == {"required": "write", "granted": ["read"]}


async def test_what_does_not_exist_is_not_found(api):
    def scenario() -> tuple[NotFoundError, NotFoundError]:
        with client(api) as c:
            with pytest.raises(NotFoundError) as task:
                c.tasks.get("task-nope")
            with pytest.raises(NotFoundError) as workflow:
                c.workflows.get("orchestrator-nope")
        return task.value, workflow.value

    task, workflow = await in_thread(scenario)
    _envelope(task, 404, "NOT_FOUND")
    assert task.details == {"task_id": "task-nope"}
    _envelope(workflow, 404, "WORKFLOW_NOT_FOUND")


async def test_cancelling_an_ended_task_or_reusing_a_key_is_a_conflict(api):
    def scenario() -> tuple[ConflictError, ConflictError]:
        with client(api) as c:
            done = c.tasks.submit("echo")
            c.tasks.wait(done.task_id)
            with pytest.raises(ConflictError) as ended:
                c.tasks.cancel(done.task_id)
            c.tasks.submit("echo", parameters={"n": 1}, idempotency_key="sdk-conflict-1")
            with pytest.raises(ConflictError) as reused:
                c.tasks.submit("echo", parameters={"n": 2}, idempotency_key="sdk-conflict-1")
        return ended.value, reused.value

    ended, reused = await in_thread(scenario)
    _envelope(ended, 409, "CONFLICT")
    assert ended.details["status"] == "completed"
    _envelope(reused, 409, "CONFLICT")
    # The details name the key or the task, as the edge or the task manager saw it first.
    assert "Idempotency-Key was used for a different request" in reused.message


async def test_a_key_past_its_tiers_burst_is_rate_limited_with_retry_after(api):
    free = await make_key(api, ["read"], tier="free")

    def scenario() -> RateLimitError:
        with client(api, key=free["api_key"], max_retries=0) as c:
            for _ in range(20):  # the free tier's burst is 10
                try:
                    c.agents.list()
                except RateLimitError as e:
                    return e
        raise AssertionError("20 requests of a free key were never limited")

    error = await in_thread(scenario)
    _envelope(error, 429, "RATE_LIMITED")
    assert error.retry_after is not None and 0 < error.retry_after <= 36
    assert error.details["limit"] == 100


async def test_no_ai_provider_able_to_answer_is_service_unavailable(api):
    sent: list[httpx.Request] = []

    def scenario() -> ServiceUnavailableError:
        with client(api, sent=sent) as c, pytest.raises(ServiceUnavailableError) as e:
            c.ai.complete([{"role": "user", "content": "hi"}])
        return e.value

    error = await in_thread(scenario)
    _envelope(error, 503, "AI_PROVIDER_UNAVAILABLE")
    assert {a["reason"] for a in error.details["attempts"]} == {"unconfigured"}
    assert len(sent) == 1  # a completion is not sent again: the node does not deduplicate it


async def test_bad_parameters_are_400_and_a_body_off_the_schema_422(api):
    def scenario() -> tuple[BadRequestError, UnprocessableEntityError]:
        with client(api) as c:
            with pytest.raises(BadRequestError) as bad:
                c.metrics.history("vibes")
            with pytest.raises(UnprocessableEntityError) as invalid:
                c.tasks.submit("echo", max_attempts=99)
        return bad.value, invalid.value

    bad, invalid = await in_thread(scenario)
    _envelope(bad, 400, "INVALID_PARAMETER")
    assert bad.details["parameter"] == "metric"
    _envelope(invalid, 422, "VALIDATION_ERROR")
    assert invalid.details["errors"][0]["parameter"] == "max_attempts"


async def test_a_node_that_cannot_be_reached_is_a_connection_error():
    def scenario() -> None:
        url = f"http://127.0.0.1:{free_port()}"
        with client(url, max_retries=0) as c, pytest.raises(APIConnectionError):
            c.system.health()

    await in_thread(scenario)
