"""The node's Prometheus registry: what GET /metrics (at the root) exposes.

One CollectorRegistry per node, never prometheus_client's global one (several nodes
run in one test process). It holds the edge's HTTP counters and histograms and two
collectors that look at the node only when scraped:

    read models   tasks by type and status, queue depth, agent slots, AI provider calls,
                  latency, tokens, cost and breakers, webhook deliveries by status; read
                  from projections.db on a read-only sqlite3 connection of their own
    runtime       the log's head, each projection's position and lag, the relay's
                  acknowledged position and lag, NATS connection, reconnects, restarts

prometheus_client collects synchronously: the edge runs the scrape in a worker thread,
so the SQLite reads here take no time from the event loop. The runtime figures are
plain attributes read from that thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from api.middleware.http_metrics import HttpMetrics
from events.projections.metrics import EVERY_TASK
from events.queries import scrape

if TYPE_CHECKING:
    from amas.runtime.node import Node

BREAKER_STATES = ("closed", "open", "half_open")


class NodeMetrics:
    """`NodeMetrics(node, projections_db)` once the node's parts are up; `close()` last."""

    def __init__(self, node: Node, projections_db: Path) -> None:
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(self.registry)
        self._read_models = ReadModelCollector(projections_db)
        self.registry.register(self._read_models)
        self.registry.register(RuntimeCollector(node))

    async def close(self) -> None:
        self._read_models.close()


class ReadModelCollector(Collector):
    def __init__(self, projections_db: Path) -> None:
        self._db = sqlite3.connect(
            f"file:{projections_db}?mode=ro",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
        )
        self._db.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.Lock()
        """One scrape at a time on the connection (each scrape runs in some thread)."""

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            db = self._db
            db.execute("BEGIN")  # one snapshot for every figure of a scrape
            try:
                yield from _tasks(db)
                yield from _agents(db)
                yield from _providers(db)
                yield from _webhooks(db)
            finally:
                db.execute("ROLLBACK")


def _tasks(db: sqlite3.Connection) -> Iterator[Metric]:
    tasks = GaugeMetricFamily(
        "amas_tasks", "Tasks by type and status (the tasks read model).", labels=["type", "status"]
    )
    for task_type, status, count in scrape.tasks_by_type_and_status(db):
        tasks.add_metric([task_type, status], count)
    yield tasks
    depths = scrape.queue_depths(db)
    yield GaugeMetricFamily(
        "amas_queue_depth", "Tasks queued, waiting for an agent.", value=depths.get(EVERY_TASK, 0)
    )
    by_agent = GaugeMetricFamily(
        "amas_agent_queue_depth",
        "Tasks queued that the agent may run (one task counts for each agent it may run on).",
        labels=["agent"],
    )
    for agent_id, depth in sorted(depths.items()):
        if agent_id != EVERY_TASK:
            by_agent.add_metric([agent_id], depth)
    yield by_agent


def _agents(db: sqlite3.Connection) -> Iterator[Metric]:
    busy = GaugeMetricFamily(
        "amas_agent_slots_busy", "Task slots in use.", labels=["agent", "agent_type"]
    )
    total = GaugeMetricFamily(
        "amas_agent_slots", "Task slots (max_concurrent_tasks).", labels=["agent", "agent_type"]
    )
    up = GaugeMetricFamily(
        "amas_agent_up", "1 unless the agent's last report was an error.", labels=["agent"]
    )
    for agent in scrape.agent_slots(db):
        busy.add_metric([agent.agent_id, agent.agent_type], agent.busy)
        total.add_metric([agent.agent_id, agent.agent_type], agent.total)
        up.add_metric([agent.agent_id], 0 if agent.status == "error" else 1)
    yield from (busy, total, up)


def _providers(db: sqlite3.Connection) -> Iterator[Metric]:
    calls = CounterMetricFamily(
        "amas_provider_calls", "AI provider attempts by outcome.", labels=["provider", "outcome"]
    )
    latency = SummaryMetricFamily(
        "amas_provider_latency_seconds", "AI provider attempts' latency.", labels=["provider"]
    )
    tokens = CounterMetricFamily(
        "amas_provider_tokens", "Tokens by kind (prompt, completion).", labels=["provider", "kind"]
    )
    cost = CounterMetricFamily(
        "amas_provider_cost_usd", "What the calls cost, in US dollars.", labels=["provider"]
    )
    breaker = GaugeMetricFamily(
        "amas_provider_breaker_state",
        "1 for the state the provider's circuit breaker is in.",
        labels=["provider", "state"],
    )
    for p in scrape.provider_totals(db):
        for outcome, count in sorted(p.calls.items()):
            calls.add_metric([p.provider, outcome], count)
        latency.add_metric([p.provider], sum(p.calls.values()), p.latency_seconds)
        tokens.add_metric([p.provider, "prompt"], p.prompt_tokens)
        tokens.add_metric([p.provider, "completion"], p.completion_tokens)
        cost.add_metric([p.provider], p.cost_usd)
        for state in BREAKER_STATES:
            breaker.add_metric([p.provider, state], 1 if p.breaker == state else 0)
    yield from (calls, latency, tokens, cost, breaker)


def _webhooks(db: sqlite3.Connection) -> Iterator[Metric]:
    deliveries = GaugeMetricFamily(
        "amas_webhook_deliveries",
        "Webhook deliveries by status (delivered, pending, failed, gave_up).",
        labels=["status"],
    )
    for status, count in sorted(scrape.webhook_deliveries_by_status(db).items()):
        deliveries.add_metric([status], count)
    yield deliveries


class RuntimeCollector(Collector):
    def __init__(self, node: Node) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        node = self._node
        head = node.store.head
        yield GaugeMetricFamily(
            "amas_event_log_head", "The log's last committed position.", value=head
        )
        position = GaugeMetricFamily(
            "amas_projection_position", "How far each projection has applied the log.",
            labels=["projection"],
        )  # fmt: skip
        lag = GaugeMetricFamily(
            "amas_projection_lag_events", "Events committed that a projection has not applied.",
            labels=["projection"],
        )  # fmt: skip
        for name in sorted(node.projections.projections):
            applied = node.projections.position(name)
            position.add_metric([name], applied)
            lag.add_metric([name], max(0, head - applied))
        yield from (position, lag)
        relay = node.relay
        yield GaugeMetricFamily(
            "amas_relay_position", "The last event NATS acknowledged from the relay.",
            value=relay.acked,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "amas_relay_lag_events", "Events committed and not yet acknowledged on NATS.",
            value=max(0, head - relay.acked),
        )  # fmt: skip
        yield CounterMetricFamily(
            "amas_relay_published_events", "Events the relay published (repeats included).",
            value=relay.sent,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "amas_nats_connected", "1 while the node is connected to NATS.",
            value=1 if node.bus.connected else 0,
        )  # fmt: skip
        yield CounterMetricFamily(
            "amas_nats_reconnects", "Times the node's NATS client connected again.",
            value=node.bus.reconnects,
        )  # fmt: skip
        yield CounterMetricFamily(
            "amas_nats_disconnects", "Times the node's NATS connection broke.",
            value=node.broker.outages,
        )  # fmt: skip
        yield CounterMetricFamily(
            "amas_nats_server_restarts", "Times the embedded nats-server was started again.",
            value=node.broker.restarts,
        )  # fmt: skip
