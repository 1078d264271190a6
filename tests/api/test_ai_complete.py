"""POST /ai/complete through the router, against fake vendors on 127.0.0.1: the order
each strategy tries, each failure class handled as documented, Retry-After and the
retry budget held, unconfigured providers skipped, a stream that falls back before its
first token."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from amas.runtime.node import NodeConfig
from tests.api.support import assert_envelope
from tests.api.vendors import Vendors, ask, config_with
from tests.fakes.llm import (
    context_too_long,
    hang,
    ok,
    quota_exhausted,
    rate_limited,
    server_error,
)


@pytest.fixture
def node_config(tmp_path: Path, vendors: Vendors) -> NodeConfig:
    return config_with(vendors, tmp_path)


def _trail(body: dict) -> list[tuple[str, str]]:
    return [(a["provider"], a["outcome"]) for a in body["attempts"]]


async def test_priority_tries_the_seed_chain_in_order_and_answers(api, vendors):
    response = await api.post("/ai/complete", json=ask())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "deepseek"
    assert body["content"] == "Hello from the fake vendor."
    assert (
        body["usage"]["total_tokens"]
        == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    assert body["cost_usd"] is None  # no prices configured: unknown, not 0
    assert _trail(body) == [("deepseek", "ok")]
    assert vendors.calls() == {"deepseek": 1, "glm": 0, "claude": 0}
    sent = vendors.deepseek.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {vendors.deepseek.key}"


async def test_a_server_error_is_retried_then_the_next_provider_answers(api, vendors):
    vendors.deepseek.script(server_error(500), server_error(502), server_error(500))
    body = (await api.post("/ai/complete", json=ask())).json()

    assert body["provider"] == "glm"
    assert _trail(body) == [("deepseek", "server_error")] * 3 + [("glm", "ok")]  # 1 + 2 retries
    assert vendors.calls() == {"deepseek": 3, "glm": 1, "claude": 0}


async def test_a_rate_limit_goes_on_at_once_and_rests_the_provider_for_its_retry_after(
    api, vendors
):
    vendors.deepseek.script(rate_limited(retry_after=30))
    first = (await api.post("/ai/complete", json=ask())).json()
    assert _trail(first) == [("deepseek", "rate_limited"), ("glm", "ok")]

    second = (await api.post("/ai/complete", json=ask())).json()
    assert _trail(second) == [("deepseek", "skipped"), ("glm", "ok")]
    assert second["attempts"][0]["reason"] == "rate_limited"
    assert vendors.calls()["deepseek"] == 1

    status = (await api.get("/ai-providers/status")).json()
    deepseek = next(p for p in status["providers"] if p["name"] == "deepseek")
    assert deepseek["status"] == "rate_limited"


async def test_retry_after_is_honoured_when_no_other_provider_is_left(api, vendors):
    vendors.deepseek.script(rate_limited(retry_after=0.6))
    started = time.monotonic()
    response = await api.post("/ai/complete", json=ask(providers=["deepseek"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "deepseek"
    assert time.monotonic() - started >= 0.6
    assert _trail(body) == [("deepseek", "rate_limited"), ("deepseek", "ok")]


async def test_a_quota_is_never_retried_and_the_provider_stays_out(api, vendors):
    vendors.deepseek.script(quota_exhausted())
    for _ in range(3):
        body = (await api.post("/ai/complete", json=ask())).json()
        assert body["provider"] == "glm"
    assert vendors.calls()["deepseek"] == 1
    listed = (await api.get("/ai-providers")).json()
    deepseek = next(p for p in listed["providers"] if p["id"] == "deepseek")
    assert deepseek["status"] == "quota_exhausted"
    assert deepseek["health"]["status"] == "unhealthy"


async def test_a_refused_key_cools_the_provider_and_shows_it_failed(tmp_path, vendors):
    from amas.runtime.node import Node
    from tests.conftest import serving

    config = config_with(vendors, tmp_path, AMAS_PROVIDER_DEEPSEEK_API_KEY="sk-wrong")
    async with Node(config) as node, serving(node) as api:
        body = (await api.post("/ai/complete", json=ask())).json()
        assert _trail(body) == [("deepseek", "auth"), ("glm", "ok")]
        status = (await api.get("/ai-providers/status")).json()
    deepseek = next(p for p in status["providers"] if p["name"] == "deepseek")
    assert deepseek["status"] == "failed"


async def test_a_prompt_too_long_goes_to_a_provider_with_a_larger_window(api, vendors):
    vendors.deepseek.script(context_too_long())
    body = (await api.post("/ai/complete", json=ask())).json()

    assert body["provider"] == "claude"  # 200k: glm's 128k is no larger than deepseek's
    reasons = [(a["provider"], a["outcome"], a["reason"]) for a in body["attempts"]]
    assert reasons[:2] == [("deepseek", "context_too_long", reasons[0][2]),
                           ("glm", "skipped", "context")]  # fmt: skip
    assert reasons[-1] == ("claude", "ok", "")
    assert {r[2] for r in reasons[2:-1]} == {"unconfigured"}  # grok, kimi, qwen before it
    assert vendors.calls()["glm"] == 0


async def test_a_bad_request_stops_at_once(api, vendors):
    vendors.deepseek.script(server_error(400))
    error = assert_envelope(await api.post("/ai/complete", json=ask()), 400, "INVALID_REQUEST")
    assert [a["outcome"] for a in error["details"]["attempts"]] == ["bad_request"]
    assert vendors.calls() == {"deepseek": 1, "glm": 0, "claude": 0}


async def test_when_every_provider_rests_the_answer_is_503_with_the_earliest_retry_after(
    api, vendors
):
    for fake in (vendors.deepseek, vendors.glm):
        fake.script(rate_limited(retry_after=40))
    vendors.claude.script(rate_limited(retry_after=20))
    response = await api.post("/ai/complete", json=ask())

    error = assert_envelope(response, 503, "AI_PROVIDER_UNAVAILABLE")
    assert 19 <= int(response.headers["Retry-After"]) <= 20
    outcomes = {(a["provider"], a["outcome"]) for a in error["details"]["attempts"]}
    assert {("deepseek", "rate_limited"), ("glm", "rate_limited"), ("claude", "rate_limited")} <= (
        outcomes
    )
    skipped = {a["provider"] for a in error["details"]["attempts"] if a["reason"] == "unconfigured"}
    assert len(skipped) == 13  # every provider is accounted for


async def test_the_retry_budget_caps_a_call_that_keeps_failing(tmp_path, vendors):
    from amas.runtime.node import Node
    from tests.conftest import serving

    for fake in (vendors.deepseek, vendors.glm, vendors.claude):
        fake.default = hang()
    config = config_with(
        vendors,
        tmp_path,
        AMAS_PROVIDER_DEEPSEEK_TIMEOUT="0.3",
        AMAS_PROVIDER_GLM_TIMEOUT="0.3",
        AMAS_PROVIDER_CLAUDE_TIMEOUT="0.3",
        AMAS_PROVIDER_DEEPSEEK_MAX_RETRIES="10",
    )
    async with Node(config) as node, serving(node) as api:
        started = time.monotonic()
        response = await api.post("/ai/complete", json=ask())
        took = time.monotonic() - started
    assert_envelope(response, 503, "AI_PROVIDER_UNAVAILABLE")
    assert took < 3.0 + 0.3 + 1.0  # the budget (3 s), one attempt's timeout, slack


@pytest.mark.parametrize(
    ("strategy", "first"),
    [("priority", "deepseek"), ("cheapest", "glm"), ("round_robin", "deepseek")],
)
async def test_the_strategy_is_chosen_per_call(tmp_path, vendors, strategy, first):
    from amas.runtime.node import Node
    from tests.conftest import serving

    config = config_with(
        vendors,
        tmp_path,
        **{f"AMAS_PROVIDER_{p}_PRICE_{d}": price for p, price in (("DEEPSEEK", "2"), ("GLM", "1"))
           for d in ("IN", "OUT")},
    )  # fmt: skip
    async with Node(config) as node, serving(node) as api:
        body = (await api.post("/ai/complete", json=ask(strategy=strategy))).json()
        again = (await api.post("/ai/complete", json=ask(strategy=strategy))).json()
    assert body["provider"] == first
    assert body["strategy"] == strategy
    if strategy == "round_robin":
        assert again["provider"] == "glm"
    if strategy == "cheapest":
        usage = body["usage"]
        assert body["cost_usd"] == pytest.approx(
            (usage["prompt_tokens"] + usage["completion_tokens"]) * 1 / 1e6
        )


async def test_a_stream_falls_back_before_its_first_token(api, vendors):
    vendors.deepseek.script(server_error(500), server_error(500), server_error(500))
    vendors.glm.script(ok("one two three"))
    events = []
    async with api.stream("POST", "/ai/complete", json=ask(stream=True)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))

    kinds = [k for k, _ in events]
    assert kinds[:3] == ["attempt"] * 3
    assert "".join(d["text"] for k, d in events if k == "delta").split() == ["one", "two", "three"]
    assert kinds[-1] == "done"
    assert events[-1][1]["provider"] == "glm"
    assert events[-1][1]["content"] == "one two three"
