"""Alerts on a running node: each condition gives its system.alert once, and its end a
cleared one; published on NATS like every event. One node for the module (each test
cleans up what it started); the providers' alerts, a restart and a tampered log have
modules of their own (test_alerts_providers.py, test_alerts_restart.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec
import nats
import pytest
import pytest_asyncio

from actors.agents.catalog import default_agents
from actors.alerts.facts import AlertSettings
from actors.webhooks.guard import parse_allow
from amas.runtime.node import Node
from events.envelope import Meta
from events.store import ANY_VERSION
from events.types import AgentErrored, SystemAlerted
from tests.conftest import EventTap, fresh_config, serving
from tests.fakes.webhook_receiver import WebhookReceiver, gone

pytestmark = pytest.mark.asyncio(loop_scope="module")

AGENT = "osint-agent"
SETTINGS = AlertSettings(
    agent_errors=3,
    agent_window=60.0,
    backlog=3,
    disk_free_mb=0,
    poll_every=0.05,
    verify_every=0,
)


@dataclasses.dataclass
class Running:
    node: Node
    api: httpx.AsyncClient
    alerts: EventTap
    """Every system.alert published on the node's NATS."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    """A node with one agent that runs one task at a time (so tasks queue up)."""
    config = fresh_config(tmp_path_factory.mktemp("alerts"))
    [spec] = [s for s in default_agents() if s.agent_id == AGENT]
    config.agents = [msgspec.structs.replace(spec, max_concurrent_tasks=1)]
    config.alerts = SETTINGS
    config.webhook_allow = parse_allow("127.0.0.1/32")
    async with Node(config) as node, serving(node) as api:
        subscriber = await nats.connect(node.nats_url)
        tap = EventTap()
        await subscriber.subscribe("system.alert", cb=tap.on_message)
        await subscriber.flush()
        try:
            yield Running(node, api, tap)
        finally:
            await subscriber.close()


async def alerts(node: Node, code: str, subject: str = "") -> list[SystemAlerted]:
    """The alerts of `code` about `subject` in the log, in order."""
    events = await node.store.read_stream("system")
    return [e.data for e in events if e.data.code == code and e.data.subject == subject]


async def raised_then_cleared(
    node: Node, code: str, subject: str, eventually: Callable[..., Awaitable[None]]
) -> list[SystemAlerted]:
    async def done() -> bool:
        return [a.cleared for a in await alerts(node, code, subject)] == [False, True]

    await eventually(done, f"{code} {subject!r} raised once, then cleared once")
    return await alerts(node, code, subject)


async def _submit(api: httpx.AsyncClient, **parameters: Any) -> str:
    response = await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})
    assert response.status_code == 201, response.text
    task_id: str = response.json()["task_id"]
    return task_id


async def test_repeated_agent_errors_raise_agent_failing_until_it_completes_a_task(
    running: Running, eventually: Callable[..., Awaitable[None]]
) -> None:
    node, api = running.node, running.api
    for n in range(3):
        await node.store.append(
            f"agent-{AGENT}",
            ANY_VERSION,
            [AgentErrored(agent_id=AGENT, agent_type="osint", error=f"RuntimeError: {n}")],
            Meta(actor="supervisor"),
        )

    async def failing() -> bool:
        return len(await alerts(node, "AGENT_FAILING", AGENT)) == 1

    await eventually(failing, "AGENT_FAILING is raised")
    [raised] = await alerts(node, "AGENT_FAILING", AGENT)
    assert (raised.level, raised.details["errors"]) == ("error", 3)
    assert raised.details["last_error"] == "RuntimeError: 2"

    completed = await _submit(api)
    [_, cleared] = await raised_then_cleared(node, "AGENT_FAILING", AGENT, eventually)
    assert (cleared.level, cleared.details["task_id"]) == ("info", completed)


async def test_a_backlog_over_the_threshold_raises_task_backlog_until_it_drains(
    running: Running, eventually: Callable[..., Awaitable[None]]
) -> None:
    node, api = running.node, running.api
    busy = await _submit(api, delay=30)
    waiting = [await _submit(api, n=n) for n in range(4)]  # the one agent is busy

    async def backlog() -> bool:
        return len(await alerts(node, "TASK_BACKLOG")) == 1

    await eventually(backlog, "TASK_BACKLOG is raised")
    [raised] = await alerts(node, "TASK_BACKLOG")
    assert (raised.level, raised.details) == ("warning", {"queued": 4, "threshold": 3})

    for task_id in [busy, *waiting]:
        await api.delete(f"/tasks/{task_id}")
    [_, cleared] = await raised_then_cleared(node, "TASK_BACKLOG", "", eventually)
    assert cleared.details["queued"] < 3


async def test_a_webhook_the_deliverer_disables_raises_webhook_disabled_a_users_patch_not(
    running: Running, eventually: Callable[..., Awaitable[None]]
) -> None:
    node, api = running.node, running.api
    with WebhookReceiver() as receiver:
        receiver.default = gone()
        made = await api.post(
            "/webhooks", json={"url": receiver.url("/hook"), "events": ["agent.error"]}
        )
        assert made.status_code == 201, made.text
        hook = made.json()["id"]
        mine = await api.post(
            "/webhooks", json={"url": receiver.url("/mine"), "events": ["task.failed"]}
        )
        assert (
            await api.patch(f"/webhooks/{mine.json()['id']}", json={"enabled": False})
        ).is_success
        await node.store.append(
            "agent-someone",
            ANY_VERSION,
            [AgentErrored(agent_id="someone", agent_type="osint", error="once")],
        )

        async def disabled() -> bool:
            return len(await alerts(node, "WEBHOOK_DISABLED", hook)) == 1

        await eventually(disabled, "WEBHOOK_DISABLED is raised")
    [raised] = await alerts(node, "WEBHOOK_DISABLED", hook)
    assert raised.level == "warning"
    assert raised.details == {"webhook_id": hook, "reason": "the endpoint answered 410 Gone"}

    assert (await api.patch(f"/webhooks/{hook}", json={"enabled": True})).is_success
    [_, cleared] = await raised_then_cleared(node, "WEBHOOK_DISABLED", hook, eventually)
    assert cleared.message == f"webhook {hook} was enabled again"
    assert await alerts(node, "WEBHOOK_DISABLED", mine.json()["id"]) == []


async def test_less_free_disk_than_the_threshold_raises_disk_low_until_there_is_enough(
    running: Running, eventually: Callable[..., Awaitable[None]]
) -> None:
    node = running.node
    node.alerts.settings = dataclasses.replace(SETTINGS, disk_free_mb=1 << 40)  # 1 EiB

    async def low() -> bool:
        return len(await alerts(node, "DISK_LOW")) == 1

    await eventually(low, "DISK_LOW is raised")
    [raised] = await alerts(node, "DISK_LOW")
    assert raised.level == "warning"
    assert 0 < raised.details["free_bytes"] < raised.details["threshold_bytes"] == 1 << 60

    node.alerts.settings = dataclasses.replace(SETTINGS, disk_free_mb=1)
    [_, cleared] = await raised_then_cleared(node, "DISK_LOW", "", eventually)
    node.alerts.settings = SETTINGS
    assert cleared.details["free_bytes"] > 1 << 20


async def test_alerts_are_published_on_nats_for_outside_subscribers(running: Running) -> None:
    """The relay publishes every committed event; system.alert is one."""
    for n in range(3):
        await running.node.store.append(
            "agent-nats-agent",
            ANY_VERSION,
            [AgentErrored(agent_id="nats-agent", agent_type="osint", error=f"error {n}")],
        )

    published = await running.alerts.wait_for(lambda e: e["data"]["subject"] == "nats-agent")

    assert published["type"] == "system.alert"
    assert published["stream"] == "system"
    assert published["meta"]["actor"] == "alerts"
    assert published["data"]["code"] == "AGENT_FAILING"
    assert (published["data"]["level"], published["data"]["cleared"]) == ("error", False)
