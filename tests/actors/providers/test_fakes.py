"""The fake vendors hold up their side: they speak from sync code and from another
process, keep connections alive, follow their script, record every request, and refuse
a bad key or a bad body with the vendor's own answer."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actors.providers.errors import FailureKind, from_response
from tests.conftest import CLIENT_TLS
from tests.fakes.llm import (
    KEY,
    FakeVendor,
    hang,
    ok,
    quota_exhausted,
    server_error,
)
from tests.fakes.llm.vendors import FAKES

CHAT_PATHS = {
    "openai": "/chat/completions",
    "anthropic": "/v1/messages",
    "gemini": "/models/test-model:generateContent",
    "cohere": "/v2/chat",
}
MODELS_PATHS = {
    "openai": "/models",
    "anthropic": "/v1/models",
    "gemini": "/models",
    "cohere": "/v1/models",
}
GOOD_BODIES = {
    "openai": {"model": "test-model", "messages": [{"role": "user", "content": "Hi"}]},
    "anthropic": {
        "model": "test-model",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
    },
    "gemini": {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
    "cohere": {"model": "test-model", "messages": [{"role": "user", "content": "Hi"}]},
}


@pytest.fixture
def sync_http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2, verify=CLIENT_TLS) as client:  # plain HTTP: no CA bundle
        yield client


def auth(style: str, key: str = KEY) -> dict[str, str]:
    return {
        "openai": {"authorization": f"Bearer {key}"},
        "anthropic": {"x-api-key": key, "anthropic-version": "2023-06-01"},
        "gemini": {"x-goog-api-key": key},
        "cohere": {"authorization": f"Bearer {key}"},
    }[style]


def chat(
    http: httpx.Client, fake: FakeVendor, body: Any = None, key: str = KEY, **headers: str
) -> httpx.Response:
    return http.post(
        fake.base_url + CHAT_PATHS[fake.style],
        json=GOOD_BODIES[fake.style] if body is None else body,
        headers={**auth(fake.style, key), **headers},
    )


def text_of(fake: FakeVendor, answer: dict[str, Any]) -> str:
    match fake.style:
        case "openai":
            return str(answer["choices"][0]["message"]["content"])
        case "gemini":
            return str(answer["candidates"][0]["content"]["parts"][0]["text"])
        case _:
            content = answer["message"]["content"] if fake.style == "cohere" else answer["content"]
            return str(content[0]["text"])


def test_a_fake_serves_sync_code_over_one_kept_alive_connection(
    fake: FakeVendor, sync_http: httpx.Client
) -> None:
    answers = [chat(sync_http, fake) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [r.connection for r in fake.requests] == [1, 1, 1]


def test_the_script_runs_in_order_then_the_default(
    fake: FakeVendor, sync_http: httpx.Client
) -> None:
    fake.default = ok("The default.")
    fake.script(server_error(502), ok("Scripted."))
    answers = [chat(sync_http, fake) for _ in range(3)]
    assert [a.status_code for a in answers] == [502, 200, 200]
    assert [text_of(fake, a.json()) for a in answers[1:]] == ["Scripted.", "The default."]


def test_every_request_is_recorded(fake: FakeVendor, sync_http: httpx.Client) -> None:
    chat(sync_http, fake, **{"x-title": "AMAS"})
    chat(sync_http, fake, **{"x-title": "AMAS"})
    first, second = fake.requests
    assert (first.method, first.body, first.headers["x-title"]) == (
        "POST",
        GOOD_BODIES[fake.style],
        "AMAS",
    )
    assert first.path.endswith(CHAT_PATHS[fake.style])
    assert first.at <= second.at
    assert fake.count(CHAT_PATHS[fake.style]) == 2


def test_a_wrong_key_gets_the_vendors_own_refusal(
    fake: FakeVendor, sync_http: httpx.Client
) -> None:
    answer = chat(sync_http, fake, key="sk-wrong")
    error = from_response(
        fake.style, answer.status_code, answer.content, answer.headers, secret=None
    )
    assert error.kind is FailureKind.AUTH
    assert fake.count() == 1  # recorded, though refused


BAD_BODIES = [
    ("openai", {"messages": [{"role": "user", "content": "Hi"}]}, "you must provide a model"),
    ("openai", {"model": "test-model"}, "Missing required parameter: 'messages'"),
    ("anthropic", {"model": "m", "messages": []}, "max_tokens: Field required"),
    (
        "anthropic",
        {"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "Be brief."}]},
        'Unexpected role "system"',
    ),
    ("gemini", {}, "contents is not specified"),
    ("gemini", {"contents": [{"role": "assistant", "parts": []}]}, "valid role: user, model"),
    ("cohere", {"messages": [{"role": "user", "content": "Hi"}]}, "model must be specified"),
    ("cohere", {"model": "m", "messages": [{"role": "bot", "content": "Hi"}]}, "invalid role"),
]


@pytest.mark.parametrize(
    ("fake", "body", "says"), BAD_BODIES, indirect=["fake"], ids=[b[2] for b in BAD_BODIES]
)
def test_a_bad_body_gets_the_vendors_400(
    fake: FakeVendor, sync_http: httpx.Client, body: dict[str, Any], says: str
) -> None:
    answer = chat(sync_http, fake, body)
    assert answer.status_code == 400
    assert says in str(answer.json())
    error = from_response(fake.style, 400, answer.content, answer.headers, secret=None)
    assert error.kind is FailureKind.BAD_REQUEST


@pytest.mark.parametrize("fake", ["anthropic"], indirect=True)
def test_anthropic_wants_its_version_header(fake: FakeVendor, sync_http: httpx.Client) -> None:
    answer = sync_http.post(
        fake.base_url + "/v1/messages", json=GOOD_BODIES["anthropic"], headers={"x-api-key": KEY}
    )
    assert (answer.status_code, answer.json()["error"]["type"]) == (400, "invalid_request_error")


def test_an_unknown_quota_variant_is_refused_when_scripted(fake: FakeVendor) -> None:
    with pytest.raises(ValueError, match="no quota variant 'weekly'"):
        fake.script(quota_exhausted("weekly"))


def test_a_hanging_call_ends_when_the_fake_closes() -> None:
    fake = FAKES["openai"]()
    fake.__enter__()
    fake.script(hang())
    outcome: list[BaseException] = []

    def call() -> None:
        with httpx.Client(timeout=5) as http:
            try:
                chat(http, fake)
            except httpx.HTTPError as error:
                outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    while not fake.requests:
        time.sleep(0.005)
    started = time.monotonic()
    fake.__exit__(None, None, None)
    caller.join(2)
    assert not caller.is_alive() and time.monotonic() - started < 1
    assert isinstance(outcome[0], httpx.RemoteProtocolError)


@pytest.mark.parametrize("module", ["openai_api", "anthropic_api", "gemini_api", "cohere_api"])
def test_a_fake_serves_another_process_and_prints_its_base_url(module: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", f"tests.fakes.llm.{module}", "--port", "0", "--key", "sk-bench"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            base_url = server.stdout.readline().strip()
            style = module.removesuffix("_api")
            answer = httpx.get(
                base_url + MODELS_PATHS[style], headers=auth(style, "sk-bench"), timeout=2
            )
            assert answer.status_code == 200
        finally:
            server.terminate()
            _, errors = server.communicate(timeout=5)
    assert errors == ""  # no warning, e.g. runpy's about a module imported twice
