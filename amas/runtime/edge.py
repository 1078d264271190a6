"""The node as the edge sees it: `api.port.NodePort`, and how the API is built on it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import msgspec
from fastapi import FastAPI
from nats.aio.msg import Msg
from prometheus_client import CollectorRegistry

from actors.agents.skills.report_generation.export import export
from actors.providers.board import provider_board
from amas.runtime.node import Node
from api.app import create_app
from api.middleware.http_metrics import HttpMetrics
from api.port import Authenticator, HostReading
from api.settings import EdgeSettings
from events.commands import Reply
from events.store import EventStore
from events.verify import VerifyResult, verify_path


class NodeEdge:
    """Implements api.port.NodePort on a started node."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._verifying = asyncio.Lock()

    @property
    def version(self) -> str:
        return self._node.version

    @property
    def uptime(self) -> float:
        return time.time() - self._node.started_at

    def services(self) -> dict[str, str]:
        node = self._node

        def state(ok: bool) -> str:
            return "running" if ok else "down"

        return {
            "nats": state(node.bus.connected),
            "event_store": state(not node.store.closed),
            "projections": state(not node.projections.errors),
            "relay": state(node.relay.running),
            "orchestrator": state(node.fleet.alive()),
        }

    @property
    def keys(self) -> Authenticator:
        return self._node.keyring

    @property
    def reader(self) -> aiosqlite.Connection:
        return self._node.reader

    @property
    def log(self) -> EventStore:
        return self._node.store

    @property
    def head(self) -> int:
        return self._node.store.head

    async def send(self, subject: str, command: msgspec.Struct, timeout: float = 5.0) -> Reply:
        return await self._node.bus.request(subject, command, timeout)

    @contextlib.asynccontextmanager
    async def listen(self, subject: str) -> AsyncIterator[asyncio.Queue[bytes]]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        async def heard(msg: Msg) -> None:
            queue.put_nowait(msg.data)

        subscription = await self._node.bus.subscribe(subject, heard)
        try:
            yield queue
        finally:
            await subscription.unsubscribe()

    def ai_providers(self) -> dict[str, Any]:
        return provider_board(self._node.providers)

    def position(self, projection: str) -> int:
        return self._node.projections.position(projection)

    async def wait_for(
        self, position: int, timeout: float = 5.0, projection: str | None = None
    ) -> None:
        await self._node.projections.wait_for(position, timeout, projection)

    def agents_for(self, task_type: str) -> list[str]:
        return self._node.fleet.agents_for(task_type)

    def export_results(self, task: dict[str, Any], form: str) -> tuple[str, str]:
        return export(task, form, self.version)

    async def verify_log(self) -> VerifyResult:
        """verify_log in the node's worker process over a read-only connection of its
        own, one check at a time: hashing a large log takes seconds of CPU, which the
        node's event loop and its store's reader connection must not wait behind."""
        async with self._verifying:
            return await self._node.worker.run(verify_path, self._node.store.path)

    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self._node.prometheus.registry

    @property
    def http_metrics(self) -> HttpMetrics:
        return self._node.prometheus.http

    def host(self) -> HostReading:
        return self._node.sampler.reading()

    def learning(self) -> dict[str, Any]:
        settings = self._node.config.learning
        return {
            "scheduler": settings.scheduler,
            "exploration": settings.exploration,
            "optimizer": settings.optimizer,
            "optimizer_every": settings.optimizer_every,
        }

    async def host_series(
        self, metric: str, start: int, step: int, count: int
    ) -> list[float | None]:
        return await self._node.sampler.series(metric, start, step, count)


def edge_app(node: Node, settings: EdgeSettings) -> FastAPI:
    """The HTTP API of a started node."""
    return create_app(NodeEdge(node), settings)
