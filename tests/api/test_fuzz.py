"""The edge against a fuzzer driven by its own OpenAPI document, over real HTTP.

schemathesis draws requests for every operation from the document (valid ones, and
invalid ones: wrong types, values out of range, missing fields, odd strings) and sends
them with the admin key to a real node on uvicorn. Every answer must be no 5xx, a status
the document lists for the operation, with the documented content type, headers and
body (the error envelope for every refusal).

The handwritten cases pin down what a schema-driven fuzzer finds only by luck, or not at
all (its strings are always UTF-8): huge numbers, deep JSON, NUL bytes, lone surrogates.
Most of them were 500s before the checks in api/schemas.py and the envelope's renderer
in api/errors.py; the rest hold what already worked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from actors.providers.catalog import from_env
from api.settings import EdgeSettings
from tests.api.support import document
from tests.conftest import ADMIN_KEY, fresh_config
from tests.fakes.llm.openai_api import FakeOpenAI
from tests.threaded import node_in_a_thread

FUZZ_SETTINGS = EdgeSettings(auth_failures_per_minute=1_000_000, anonymous_per_minute=1_000_000)
"""The fuzzer sends bad keys and no keys too: the failed-authentication limit would soon
answer 429 to everything from its address (429 is documented, but then nothing else is
tested). The admin key's tier has no limit of its own."""


DOCUMENT = document()
"""The API's document, made the way the node makes it: schemathesis makes its tests
before any node runs. The first test checks that the node serves this very document."""

# GET /events/stream follows the log until the client goes away: a fuzzer's request would
# wait for ever. tests/api/test_event_stream.py holds its refusals.
fuzzed = schemathesis.openapi.from_dict(DOCUMENT).exclude(path="/api/v1/events/stream")
fuzzed.config.seed = 1  # the same requests on every run (schemathesis picks one at random)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:<port> of a node and its API, on an event loop of their own:
    schemathesis sends blocking requests, which that loop answers meanwhile."""
    with FakeOpenAI() as vendor:
        config = fresh_config(tmp_path_factory.mktemp("fuzzed"))
        config.providers = from_env(
            {"AMAS_PROVIDER_DEEPSEEK_API_KEY": vendor.key,
             "AMAS_PROVIDER_DEEPSEEK_BASE_URL": vendor.base_url}
        )  # fmt: skip
        with node_in_a_thread(config, FUZZ_SETTINGS, "fuzzed-node") as url:
            yield url


@pytest.fixture(scope="module")
def api(root: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{root}/api/v1", headers={"X-API-Key": ADMIN_KEY}, timeout=10
    ) as client:
        yield client


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    """One connection for the fuzzer's requests, rather than one each."""
    with requests.Session() as reused:
        yield reused


def test_the_fuzzed_document_is_the_one_the_node_serves(api: httpx.Client) -> None:
    assert api.get("/openapi.json").json() == DOCUMENT


@schemathesis.check
def not_a_server_error_but_a_provider_outage(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, but the documented 503 when the providers asked for cannot answer (the
    fuzzer names unconfigured ones in `providers`)."""
    if response.status_code == 503 and b"AI_PROVIDER_UNAVAILABLE" in response.content:
        return None
    return not_a_server_error(ctx, response, case)  # type: ignore[no-any-return]


@fuzzed.parametrize()
@hypothesis.settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],  # a real node on a busy CI machine
)
def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    case: schemathesis.Case, root: str, session: requests.Session
) -> None:
    case.call_and_validate(
        base_url=root,
        session=session,
        headers={"X-API-Key": ADMIN_KEY},
        checks=[
            not_a_server_error_but_a_provider_outage,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


# -- the handwritten cases ---------------------------------------------------------------

_ERROR_CODES = {
    400: {"INVALID_REQUEST", "INVALID_PARAMETER"},
    401: {"UNAUTHORIZED"},
    404: {"NOT_FOUND"},
    422: {"VALIDATION_ERROR"},
}


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """The envelope's error, after checking the status, the code and the exact shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details", "request_id", "timestamp"}, error
    assert error["code"] in _ERROR_CODES[status], error
    assert error["message"] and isinstance(error["details"], dict)
    assert error["request_id"] == response.headers["x-request-id"]
    return error


def post_json(api: httpx.Client, path: str, text: str | bytes, method: str = "POST") -> Any:
    """`text` as the body, sent as it is: json= would refuse NaN and lone surrogates."""
    return api.request(method, path, content=text, headers={"content-type": "application/json"})


HUGE = 10**40


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/tasks", {"limit": HUGE}),
        ("/tasks", {"offset": HUGE}),
        ("/tasks", {"offset": 2**63}),
        ("/tasks", {"offset": -HUGE}),
        ("/events", {"from_position": HUGE}),
        ("/events", {"from_position": 2**63}),
        ("/events", {"limit": HUGE}),
    ],
)
def test_huge_integers_in_a_query_are_422(
    api: httpx.Client, path: str, params: dict[str, int]
) -> None:
    [name] = params
    error = refused(api.get(path, params=params), 422)
    assert error["message"].startswith(f"{name}: ")


_INTEGER_PARAMETERS = [
    ("/tasks", "limit"),
    ("/tasks", "offset"),
    ("/events", "from_position"),
    ("/events", "limit"),
]


@hypothesis.given(
    where=st.sampled_from(_INTEGER_PARAMETERS),
    number=st.integers() | st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, HUGE, -HUGE]),
)
@hypothesis.settings(max_examples=60, derandomize=True, database=None, deadline=None)
def test_any_integer_in_a_query_is_answered_or_refused_never_a_500(
    api: httpx.Client, where: tuple[str, str], number: int
) -> None:
    path, name = where
    response = api.get(path, params={name: number})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        refused(response, 422)


def test_the_largest_integer_the_node_carries_is_a_valid_offset(api: httpx.Client) -> None:
    assert api.get("/tasks", params={"offset": 2**63 - 1}).json()["tasks"] == []
    assert api.get("/events", params={"from_position": 2**63 - 1}).json()["events"] == []


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/tasks", {"task_type": "echo", "max_attempts": HUGE}, "max_attempts"),
        ("/tasks", {"task_type": "echo", "priority": HUGE}, "priority"),
        ("/tasks", {"task_type": "echo", "parameters": {"steps": HUGE}}, "parameters.steps"),
        ("/tasks", {"task_type": "echo", "parameters": {"x": [1, -HUGE]}}, "parameters.x[1]"),
        ("/tasks", {"task_type": "echo", "parameters": {"x": 2**64}}, "parameters.x"),
        ("/api-keys", {"name": HUGE}, "name"),
    ],
)
def test_huge_integers_in_a_body_are_422(
    api: httpx.Client, path: str, body: dict[str, Any], where: str
) -> None:
    error = refused(api.post(path, json=body), 422)
    assert error["message"] == f"body: {where}: an integer beyond 64 bits"


def test_huge_numbers_in_an_agent_configuration_are_422(api: httpx.Client) -> None:
    for number in (str(HUGE), "1e400", "-1e400", "NaN", "Infinity"):
        for field in ("timeout", "max_concurrent_tasks"):
            body = f'{{"{field}": {number}}}'
            refused(post_json(api, "/agents/echo-agent-1/config", body, "PUT"), 422)


@pytest.mark.parametrize("number", ["1e400", "-Infinity", "NaN"])
def test_numbers_json_cannot_carry_are_422_and_echoed_as_text(
    api: httpx.Client, number: str
) -> None:
    body = f'{{"task_type": "echo", "parameters": {{"x": {number}}}}}'
    error = refused(post_json(api, "/tasks", body), 422)
    assert error["message"] == "body: parameters.x: not a finite number"
    assert error["details"]["errors"][0]["provided"]["parameters"]["x"] in {"inf", "-inf", "nan"}


def test_a_finite_float_at_the_edge_of_the_range_is_accepted(api: httpx.Client) -> None:
    body = {"task_type": "echo", "parameters": {"x": 1.7976931348623157e308}}
    assert api.post("/tasks", json=body).status_code == 201


@pytest.mark.parametrize("depth", [10_000, 2_000])
def test_json_deeper_than_the_parser_goes_is_400(api: httpx.Client, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    refused(post_json(api, "/tasks", nested), 400)
    body = f'{{"task_type": "echo", "parameters": {{"x": {nested}}}}}'
    refused(post_json(api, "/tasks", body), 400)


def test_deep_json_refused_inside_is_422_with_a_bounded_echo(api: httpx.Client) -> None:
    nested = "[" * 500 + '"\\ud800"' + "]" * 500
    body = f'{{"task_type": "echo", "parameters": {{"x": {nested}}}}}'
    error = refused(post_json(api, "/tasks", body), 422)
    assert error["message"].endswith("not UTF-8 text (a lone surrogate)")
    assert len(json.dumps(error)) < 5_000


@pytest.mark.parametrize(
    "body",
    [
        '{"task_type": "\\ud800"}',
        '{"task_type": "echo", "parameters": {"x": "a\\udfffb"}}',
        '{"task_type": "echo", "parameters": {"\\udfff": 1}}',
        '{"task_type": "echo", "\\ud800": 1}',
        '{"task_type": "echo", "priority": "\\ud800"}',
        '{"task_type": "echo", "callback_url": "http://\\ud800/"}',
        '"\\ud800"',
        b'{"task_type": "\xed\xa0\x80"}',  # a surrogate in UTF-8 form: Python's parser reads it
    ],
)
def test_lone_surrogates_in_a_body_are_422(api: httpx.Client, body: str | bytes) -> None:
    error = refused(post_json(api, "/tasks", body), 422)
    assert "surrogate" in error["message"]


@pytest.mark.parametrize(
    ("path", "body", "method"),
    [
        ("/api-keys", '{"name": "\\ud800"}', "POST"),
        ("/api-keys", '{"name": "x", "owner": "\\udc00"}', "POST"),
        ("/agents/echo-agent-1/config", '{"priority": "\\ud800"}', "PUT"),
    ],
)
def test_lone_surrogates_are_422_on_every_body(
    api: httpx.Client, path: str, body: str, method: str
) -> None:
    refused(post_json(api, path, body, method), 422)


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/%00",
        "/tasks/%ED%A0%80",
        "/tasks/%ED%A0%80/results",
        "/agents/%00",
        "/agents/%ED%A0%80",
        "/api-keys/%00",
        "/api-keys/%FF",
    ],
)
def test_nul_bytes_and_broken_utf8_in_a_path_are_404(api: httpx.Client, path: str) -> None:
    refused(api.get(path), 404)


def test_nul_bytes_and_broken_utf8_in_a_path_are_404_for_writes_too(api: httpx.Client) -> None:
    refused(api.delete("/tasks/%00"), 404)
    refused(api.delete("/api-keys/%ED%A0%80"), 404)
    refused(api.post("/api-keys/%00/rotate"), 404)
    refused(api.put("/agents/%00/config", json={}), 404)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/tasks", "agent_id=%00"),
        ("/tasks", "task_type=a%00b&limit=1"),
        ("/tasks", "agent_id=%ED%A0%80"),
        ("/events", "stream=%00*"),
        ("/events", "type=%00&type=%ED%A0%80*"),
    ],
)
def test_nul_bytes_and_broken_utf8_in_a_query_match_nothing(
    api: httpx.Client, path: str, query: str
) -> None:
    response = api.get(f"{path}?{query}")
    assert response.status_code == 200, response.text
    assert response.json()[path.strip("/")] == []


def test_nul_bytes_in_body_strings_are_just_characters(api: httpx.Client) -> None:
    error = refused(api.post("/tasks", json={"task_type": "\x00"}), 400)
    assert error["details"]["provided"] == "\x00"
    body = {"task_type": "echo", "parameters": {"\x00": "a\x00b"}}
    assert api.post("/tasks", json=body).status_code == 201
    assert api.post("/api-keys", json={"name": "\x00", "owner": "\x00"}).status_code == 201


def test_bytes_outside_ascii_in_headers_are_refused_in_the_envelope(api: httpx.Client) -> None:
    refused(api.get("/tasks", headers={"X-API-Key": b"amas_\xff\xed\xa0\x80"}), 401)
    odd_key = {"Idempotency-Key": b"\xff\xfe"}
    refused(api.post("/tasks", json={"task_type": "echo"}, headers=odd_key), 400)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/tasks", {"from_date": "0001-01-01T00:00:00+14:00"}),
        ("/tasks", {"to_date": "9999-12-31T23:59:59-14:00"}),
        ("/events", {"to_time": "0001-01-01T00:00:00+01:00"}),
        ("/events", {"to_time": "9999-12-31T23:59:59-00:01"}),
    ],
)
def test_times_that_do_not_exist_in_utc_are_422(
    api: httpx.Client, path: str, params: dict[str, str]
) -> None:
    [name] = params
    error = refused(api.get(path, params=params), 422)
    assert error["message"] == f"{name}: Value error, out of range once in UTC"


def test_expiry_times_that_do_not_exist_in_utc_are_422(api: httpx.Client) -> None:
    for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        refused(api.post("/api-keys", json={"name": "x", "expires_at": when}), 422)
        refused(api.post("/api-keys/nope/rotate", json={"expires_at": when}), 422)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tasks", {"task_type": 5}),
        ("/tasks", {"task_type": ["echo"]}),
        ("/tasks", {"task_type": "echo", "parameters": []}),
        ("/tasks", {"task_type": "echo", "max_attempts": 2.5}),
        ("/tasks", "echo"),
        ("/tasks", None),
        ("/api-keys", {"name": "x", "scopes": "admin"}),
        ("/api-keys", {"name": "x", "expires_at": "soon"}),
    ],
)
def test_wrong_types_in_a_body_are_422(api: httpx.Client, path: str, body: Any) -> None:
    refused(api.post(path, json=body), 422)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/tasks", {"offset": "1.5"}),
        ("/tasks", {"limit": "1e3"}),
        ("/tasks", {"from_date": "tomorrow"}),
        ("/events", {"from_position": "true"}),
    ],
)
def test_wrong_types_in_a_query_are_422(
    api: httpx.Client, path: str, params: dict[str, str]
) -> None:
    refused(api.get(path, params=params), 422)


_ODD_TEXT = st.text(
    st.characters() | st.sampled_from(["\x00", "\ud800", "\udfff", "\u2028", "\ufeff"]),
    max_size=8,
)
_ODD_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, HUGE])
    | st.floats()
    | _ODD_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ODD_TEXT, inner, max_size=3),
    max_leaves=8,
)


@hypothesis.given(parameters=st.dictionaries(_ODD_TEXT, _ODD_JSON, max_size=4))
@hypothesis.settings(max_examples=60, derandomize=True, database=None, deadline=None)
def test_any_json_as_task_parameters_is_accepted_or_refused_never_a_500(
    api: httpx.Client, parameters: dict[str, Any]
) -> None:
    body = json.dumps({"task_type": "echo", "parameters": parameters}, allow_nan=True)
    response = post_json(api, "/tasks", body)
    assert response.status_code in (201, 400, 422), response.text
    if response.status_code != 201:
        refused(response, response.status_code)
