"""The providers' alerts, from real breakers failing against the fake vendors: a breaker
opening gives PROVIDER_CIRCUIT_OPEN, every provider open ALL_PROVIDERS_UNAVAILABLE, and
each clears once a provider answers again."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from actors.alerts.facts import AlertSettings
from actors.providers.breaker import BreakerPolicy
from amas.runtime.node import Node, NodeConfig
from events.types import SystemAlerted
from tests.api.vendors import ROUTER, Vendors, ask, config_with
from tests.fakes.llm import ok, server_error

COOLDOWN = 0.3
"""Seconds an open breaker waits before its probe."""


@pytest.fixture
def node_config(tmp_path: Path, vendors: Vendors) -> NodeConfig:
    config = config_with(vendors, tmp_path)
    config.router = dataclasses.replace(
        ROUTER, retry_budget=0.5, breaker=BreakerPolicy(cooldown=COOLDOWN)
    )
    config.alerts = AlertSettings(poll_every=0.05, verify_every=0, disk_free_mb=0)
    return config


async def alerts(node: Node, code: str) -> list[SystemAlerted]:
    return [e.data for e in await node.store.read_stream("system") if e.data.code == code]


async def test_breakers_opening_raise_their_alerts_and_a_provider_back_clears_them(
    api: httpx.AsyncClient,
    node: Node,
    vendors: Vendors,
    eventually: Callable[..., Awaitable[None]],
) -> None:
    vendors.deepseek.default = server_error(500)
    for _ in range(2):  # 3 attempts a call: the 5th failure opens deepseek's breaker
        assert (await api.post("/ai/complete", json=ask())).json()["provider"] == "glm"

    async def circuits() -> list[tuple[str, bool]]:
        return [(a.subject, a.cleared) for a in await alerts(node, "PROVIDER_CIRCUIT_OPEN")]

    await eventually(lambda: circuits_are(circuits, [("deepseek", False)]), "deepseek opens")
    [opened] = await alerts(node, "PROVIDER_CIRCUIT_OPEN")
    assert opened.level == "warning"
    assert opened.details["provider"] == "deepseek"
    assert (opened.details["breaker"], opened.details["status"]) == ("open", "failed")
    assert opened.details["until"] is not None
    assert await alerts(node, "ALL_PROVIDERS_UNAVAILABLE") == []  # glm and claude answer

    vendors.glm.default = vendors.claude.default = server_error(500)
    for _ in range(2):
        await api.post("/ai/complete", json=ask())

    async def all_down() -> bool:
        return len(await alerts(node, "ALL_PROVIDERS_UNAVAILABLE")) == 1

    await eventually(all_down, "ALL_PROVIDERS_UNAVAILABLE is raised")
    [critical] = await alerts(node, "ALL_PROVIDERS_UNAVAILABLE")
    assert critical.level == "critical"
    assert set(critical.details["providers"]) == {"deepseek", "glm", "claude"}
    assert {subject for subject, _ in await circuits()} == {"deepseek", "glm", "claude"}

    for vendor in (vendors.deepseek, vendors.glm, vendors.claude):
        vendor.default = ok()

    async def answered_again() -> bool:
        # Until the cool-down is over every breaker is open: calls fail without trying.
        await api.post("/ai/complete", json=ask())
        return [a.cleared for a in await alerts(node, "ALL_PROVIDERS_UNAVAILABLE")] == [
            False,
            True,
        ]

    await eventually(answered_again, "ALL_PROVIDERS_UNAVAILABLE is cleared")
    [_, back] = await alerts(node, "ALL_PROVIDERS_UNAVAILABLE")
    assert back.level == "info"
    assert back.details["available"][0] in {"deepseek", "glm", "claude"}

    async def closed_again() -> bool:
        await api.post("/ai/complete", json=ask())  # a second good probe closes a breaker
        return any(cleared for _, cleared in await circuits())

    await eventually(closed_again, "a provider's circuit is cleared")
    closed = [a for a in await alerts(node, "PROVIDER_CIRCUIT_OPEN") if a.cleared]
    assert (closed[0].level, closed[0].details["breaker"]) == ("info", "closed")
    assert closed[0].message == f"{closed[0].subject}'s circuit breaker closed again"


async def circuits_are(
    circuits: Callable[[], Awaitable[list[tuple[str, bool]]]], expected: list[tuple[str, bool]]
) -> bool:
    return await circuits() == expected
