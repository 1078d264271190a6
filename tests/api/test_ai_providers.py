"""/ai-providers: the catalogue, health, configuration that survives a restart, a live
test; the breaker's transitions as events; the key in no event, log line or answer;
a replay that calls no vendor."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from amas.runtime.node import Node, NodeConfig
from tests.api.support import assert_envelope, make_key
from tests.api.vendors import Vendors, ask, config_with
from tests.conftest import serving
from tests.fakes.llm import ok, server_error
from tests.served import run_cli

SEED_CHAIN = ["deepseek", "glm", "grok", "kimi", "qwen"]


@pytest.fixture
def node_config(tmp_path: Path, vendors: Vendors) -> NodeConfig:
    return config_with(vendors, tmp_path)


async def test_the_list_has_the_16_providers_the_seed_chain_first(api):
    body = (await api.get("/ai-providers")).json()

    assert body["total_providers"] == 16
    assert body["fallback_chain"][:5] == SEED_CHAIN
    assert len(body["fallback_chain"]) == 16
    assert body["selection_strategy"] == "priority"
    by_id = {p["id"]: p for p in body["providers"]}
    assert {pid for pid, p in by_id.items() if p["status"] == "active"} == {
        "deepseek", "glm", "claude",
    }  # fmt: skip
    assert body["active_providers"] == 3
    assert by_id["grok"]["status"] == "unconfigured"
    assert by_id["ollama"]["status"] == "unconfigured"  # its local server does not answer
    assert by_id["claude"]["provider_type"] == "anthropic"
    assert by_id["deepseek"]["provider_type"] == "openai_compatible"
    assert set(by_id["deepseek"]["health"]) >= {
        "status", "success_rate", "avg_response_time", "last_checked", "consecutive_failures",
    }  # fmt: skip


async def test_details_metrics_and_usage_per_key_come_from_the_calls(api, vendors):
    key = await make_key(api, ["read", "write"])
    for _ in range(3):
        response = await api.post("/ai/complete", json=ask(), headers={"X-API-Key": key["api_key"]})
        assert response.status_code == 200
    await api.post("/ai/complete", json=ask())  # the admin key's

    async def counted() -> dict[str, Any]:
        return (await api.get("/ai-providers/deepseek")).json()

    detail = await counted()
    for _ in range(50):  # the projection follows the log
        if detail["metrics"]["total_requests"] == 4:
            break
        detail = await counted()
    metrics = detail["metrics"]
    assert metrics["total_requests"] == metrics["successful_requests"] == 4
    assert metrics["success_rate"] == 1.0
    assert metrics["avg_response_time"] is not None
    assert metrics["prompt_tokens"] > 0
    configuration = detail["configuration"]
    assert configuration["endpoint"] == vendors.deepseek.base_url
    assert configuration["api_key_set"] is True
    usage = {u["api_key_id"]: u["calls"] for u in detail["usage_by_key"]}
    assert usage[key["key_id"]] == 3
    assert sum(usage.values()) == 4
    assert detail["rate_limits"]["vendor"]["requests_limit"] > 0  # read from its headers


async def test_an_unknown_provider_is_404(api):
    assert_envelope(await api.get("/ai-providers/hal9000"), 404, "NOT_FOUND")
    assert_envelope(await api.post("/ai-providers/hal9000/test"), 404, "NOT_FOUND")
    response = await api.put("/ai-providers/hal9000/config", json={"priority": 1})
    assert_envelope(response, 404, "NOT_FOUND")


async def test_the_test_endpoint_checks_each_step_and_skips_an_unconfigured_provider(api, vendors):
    vendors.deepseek.default = ok("pong")
    body = (await api.post("/ai-providers/deepseek/test")).json()
    assert body["test_status"] == "success", body
    assert body["test_results"] == {
        "connectivity": "pass", "authentication": "pass",
        "model_access": "pass", "response_quality": "pass",
    }  # fmt: skip

    unconfigured = (await api.post("/ai-providers/grok/test")).json()
    assert unconfigured["test_status"] == "unconfigured"
    assert "XAI_API_KEY" in unconfigured["reasons"]["connectivity"]


async def test_configuration_is_admin_only_and_survives_a_restart(tmp_path, vendors):
    config = config_with(vendors, tmp_path)
    async with Node(config) as node, serving(node) as api:
        reader = await make_key(api, ["read", "write"])
        refused = await api.put(
            "/ai-providers/deepseek/config",
            json={"priority": 9},
            headers={"X-API-Key": reader["api_key"]},
        )
        assert_envelope(refused, 403, "FORBIDDEN")
        assert_envelope(
            await api.put("/ai-providers/deepseek/config", json={}), 400, "INVALID_REQUEST"
        )
        assert_envelope(
            await api.put("/ai-providers/deepseek/config", json={"timeout": -1}),
            422,
            "VALIDATION_ERROR",
        )
        changed = await api.put(
            "/ai-providers/deepseek/config", json={"priority": 9, "max_retries": 0, "rpm": 100}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["config"]["priority"] == 9
        assert changed.json()["status"] == "updated"
        body = (await api.post("/ai/complete", json=ask())).json()
        assert body["provider"] == "glm"  # deepseek is now tried after glm and claude
    async with Node(config) as node, serving(node) as api:
        detail = (await api.get("/ai-providers/deepseek")).json()
        assert detail["priority"] == 9
        assert detail["configuration"]["max_retries"] == 0
        assert detail["rate_limits"]["requests_per_minute"] == 100


async def test_the_breaker_opens_after_failures_and_its_moves_are_events(api, node, vendors):
    vendors.deepseek.default = server_error(500)
    for _ in range(2):  # 3 attempts each (1 + 2 retries): the 5th failure opens it
        body = (await api.post("/ai/complete", json=ask())).json()
        assert body["provider"] == "glm"
    third = (await api.post("/ai/complete", json=ask())).json()
    assert third["attempts"][0] == {"provider": "deepseek", "outcome": "skipped", "reason": "open"}
    assert vendors.calls()["deepseek"] == 5

    status = (await api.get("/ai-providers/status")).json()
    deepseek = next(p for p in status["providers"] if p["name"] == "deepseek")
    assert (deepseek["status"], deepseek["breaker"]) == ("failed", "open")
    events = await node.store.read_stream("provider-deepseek")
    states = [e.data for e in events if e.type == "provider.state"]
    assert [(s.breaker, s.status) for s in states] == [("open", "failed")]
    assert states[0].until is not None
    called = [e.data for e in events if e.type == "provider.called"]
    assert len(called) == 5 and called[-1].breaker == "open"


async def test_the_key_is_in_no_event_log_line_or_answer(
    tmp_path, vendors, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    keys = [vendors.deepseek.key, vendors.glm.key, vendors.claude.key]
    config = config_with(vendors, tmp_path)
    answers = []
    vendors.deepseek.script(server_error(500))
    async with Node(config) as node, serving(node) as api:
        answers.append((await api.post("/ai/complete", json=ask())).text)
        answers.append((await api.post("/ai/complete", json=ask(stream=True))).text)
        for path in ("/ai-providers", "/ai-providers/status", "/ai-providers/deepseek"):
            answers.append((await api.get(path)).text)
        answers.append((await api.post("/ai-providers/claude/test")).text)
        events = await node.store.read_all(1, 100_000)
    stored = b"\n".join(msgspec.json.encode(e.data) for e in events).decode()
    assert any(e.type == "provider.called" for e in events)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG was on
    for key in keys:
        assert key not in stored
        assert key not in logged
        assert all(key not in answer for answer in answers)


async def test_a_replay_rebuilds_the_provider_records_and_calls_no_vendor(tmp_path, vendors):
    config = config_with(vendors, tmp_path)
    vendors.deepseek.script(server_error(500))
    async with Node(config) as node, serving(node) as api:
        for _ in range(3):
            assert (await api.post("/ai/complete", json=ask())).status_code == 200
        await node.projections.wait_for(node.store.head, 5.0)
    calls = vendors.calls()
    paths = config.data

    def rows() -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{paths.projections_db}?mode=ro", uri=True) as db:
            return [
                *db.execute("SELECT * FROM providers ORDER BY 1"),
                *db.execute("SELECT * FROM provider_usage ORDER BY 1"),
            ]

    before = rows()
    replayed = run_cli("events", "replay", "--data-dir", str(paths.root))
    assert replayed.returncode == 0, replayed.stderr
    assert rows() == before
    assert vendors.calls() == calls
