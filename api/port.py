"""The edge's one way into the node: what a route may do, and nothing more.

The runtime (amas/runtime/edge.py) implements `NodePort`; the edge never sees the node,
its actors or the store's backend. Writes are commands on the bus, reads are queries on
the projections (or, for auditors, reads of the log through the store contract).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite
import msgspec
from prometheus_client import CollectorRegistry

from api.middleware.http_metrics import HttpMetrics
from events.commands import Reply
from events.keys import Principal
from events.store import EventStore
from events.verify import VerifyResult


@dataclass(frozen=True)
class HostReading:
    """The node's host now: percentages, and network bytes since the host booted."""

    cpu_usage: float | None
    """CPU busy over the last sampling interval (None before the first sample)."""
    memory_usage: float
    disk_usage: float
    """Of the filesystem holding the data folder."""
    bytes_sent: int
    bytes_received: int


class Authenticator(Protocol):
    def authenticate(self, raw: str, now: float) -> Principal:
        """The principal a presented key stands for; raises events.keys.Refusal."""
        ...


class NodePort(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def uptime(self) -> float:
        """Seconds since the node started."""
        ...

    def services(self) -> dict[str, str]:
        """Each part of the node: `running` or `down`."""
        ...

    @property
    def keys(self) -> Authenticator: ...

    @property
    def reader(self) -> aiosqlite.Connection:
        """A read-only connection to the projections: the handle every query takes."""
        ...

    @property
    def log(self) -> EventStore:
        """The event log, for audit reads (never for appends)."""
        ...

    @property
    def head(self) -> int:
        """The log's last committed position."""
        ...

    async def send(self, subject: str, command: msgspec.Struct, timeout: float = 5.0) -> Reply:
        """A command to its owning actor; raises events.commands.BusUnavailable."""
        ...

    def listen(self, subject: str) -> AbstractAsyncContextManager[asyncio.Queue[bytes]]:
        """The messages published on `subject` while the context is open."""
        ...

    def ai_providers(self) -> dict[str, Any]:
        """The AI providers as the node runs them now: `strategy`, `retry_budget`,
        `fallback_chain` and `providers` (configuration without keys, live state)."""
        ...

    def position(self, projection: str) -> int:
        """How far `projection` has applied the log."""
        ...

    async def wait_for(
        self, position: int, timeout: float = 5.0, projection: str | None = None
    ) -> None:
        """Return once `projection` (or every one) has applied `position`; raises
        events.errors.ProjectionTimeoutError."""
        ...

    def agents_for(self, task_type: str) -> list[str]:
        """The agents that run `task_type` (none: no agent does)."""
        ...

    def export_results(self, task: dict[str, Any], form: str) -> tuple[str, str]:
        """(media type, body) of a task's results as `form` (sarif, markdown); raises
        ValueError naming what cannot be exported."""
        ...

    async def verify_log(self) -> VerifyResult:
        """Walk the hash chain, off the event loop."""
        ...

    def host(self) -> HostReading:
        """The node's host now."""
        ...

    def learning(self) -> dict[str, Any]:
        """How the node learns: `scheduler` (learned, fixed), `exploration` (the bound),
        `optimizer` (off, advise, act), `optimizer_every` (seconds)."""
        ...

    @property
    def metrics_registry(self) -> CollectorRegistry:
        """The node's Prometheus registry (never the process-wide one): HTTP counters
        and collectors that read the read models and the runtime at scrape time. Its
        collectors block: collect it in a worker thread."""
        ...

    @property
    def http_metrics(self) -> HttpMetrics:
        """Where the edge records each request (in `metrics_registry`)."""
        ...

    async def host_series(
        self, metric: str, start: int, step: int, count: int
    ) -> list[float | None]:
        """The host samples' mean of `metric` (cpu_usage, memory_usage, disk_usage) in
        each of `count` buckets of `step` seconds from `start` (epoch seconds); None
        where no sample was taken."""
        ...
