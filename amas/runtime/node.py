"""A node: nats-server (embedded or joined), the event store, projections, the relay,
the actors and the edge's port. `async with Node(config)`; the parts it starts close in
reverse order, each within a time limit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import msgspec

from actors.agents.catalog import AgentSpec, default_agents
from actors.agents.scope import NetworkScope, Scopes
from actors.agents.skills import SKILLS
from actors.alerts.facts import AlertSettings
from actors.alerts.monitor import AlertMonitor, Sources
from actors.apikeys import KeyCommands
from actors.feed import follow_log, tick
from actors.fleet import CATCH_UP_TIMEOUT, Fleet
from actors.learning.optimizer import ACTOR as OPTIMIZER
from actors.learning.optimizer import Optimizer
from actors.learning.settings import LearningSettings
from actors.providers.board import usable
from actors.providers.catalog import ProviderConfig
from actors.providers.pool import ProviderPool
from actors.providers.router import RouterSettings
from actors.webhooks.delivery import Deliverer
from actors.webhooks.registry import WebhookRegistry
from actors.webhooks.secrets import SecretStore
from actors.workflows.service import GitHubSettings, Workflows
from actors.workflows.steps import WorkflowDef
from amas import __version__
from amas.runtime.broker_watch import BrokerWatch
from amas.runtime.bus import Bus
from amas.runtime.keyring import KeyRing
from amas.runtime.nats_server import EmbeddedNatsServer
from amas.runtime.prometheus import NodeMetrics
from amas.runtime.relay import Relay
from amas.runtime.routing import route
from amas.runtime.sampler import HostSampler
from amas.runtime.settings import (
    DataPaths,
    alerts_from_env,
    github_from_env,
    learning_from_env,
    metrics_sample_seconds_from_env,
    providers_from_env,
    router_from_env,
    scopes_from_env,
    slowdown_from_env,
    webhook_allow_from_env,
    webhook_disable_after_from_env,
    webhook_schedule_from_env,
)
from amas.runtime.worker import Worker
from events.commands import CONFIGURE_AGENT, BusUnavailable, ConfigureAgent
from events.envelope import Meta
from events.projections import ProjectionRunner, all_projections
from events.queries import alerts as alert_queries
from events.queries import providers as provider_queries
from events.queries import tasks as task_queries
from events.queries import webhooks as webhook_queries
from events.store import SQLiteEventStore
from events.types import SystemAlerted
from events.verify import Anchor, VerifyResult, verify_path

log = logging.getLogger(__name__)

_STOP_TIMEOUT = 15.0


@dataclass
class NodeConfig:
    data: DataPaths
    nats_url: str | None = None
    """Join this NATS server instead of starting one."""
    nats_port: int | None = None
    """Port of the embedded server (default 4222, or a free one if that is taken)."""
    agents: list[AgentSpec] = field(default_factory=default_agents)
    admin_key: str | None = None
    """A key accepted as admin besides those in the log (AMAS_API_KEY)."""
    scopes: Scopes = field(default_factory=scopes_from_env)
    """The targets agents may touch (AMAS_SCAN_SCOPE, AMAS_CODE_SCOPE)."""
    providers: list[ProviderConfig] = field(default_factory=providers_from_env)
    """The AI providers (AMAS_PROVIDER_<ID>_*, the vendors' key variables)."""
    router: RouterSettings = field(default_factory=router_from_env)
    github: GitHubSettings | None = field(default_factory=github_from_env)
    """The issue responder's GitHub (AMAS_GITHUB_REPO, GITHUB_TOKEN)."""
    webhook_allow: NetworkScope = field(default_factory=webhook_allow_from_env)
    """Where webhooks may be delivered (AMAS_WEBHOOK_ALLOW, default loopback)."""
    webhook_schedule: tuple[float, ...] = field(default_factory=webhook_schedule_from_env)
    """Seconds before each delivery attempt (Svix's, AMAS_WEBHOOK_RETRY_SCALE)."""
    webhook_disable_after: float = field(default_factory=webhook_disable_after_from_env)
    """Seconds a webhook may fail before it is disabled (AMAS_WEBHOOK_DISABLE_AFTER; 5 days)."""
    workflows: dict[str, WorkflowDef[Any]] = field(default_factory=lambda: default_workflows())
    """The workflow types the engine runs (the orchestrator, ...)."""
    alerts: AlertSettings = field(default_factory=alerts_from_env)
    """When system.alert is raised (AMAS_ALERT_*)."""
    metrics_sample_seconds: float = field(default_factory=metrics_sample_seconds_from_env)
    """Seconds between two host samples (AMAS_METRICS_SAMPLE_SECONDS, 10)."""
    learning: LearningSettings = field(default_factory=learning_from_env)
    """The scheduler, the decision engine and the optimizer (AMAS_SCHEDULER, ...)."""
    agent_slowdown: dict[str, float] = field(default_factory=slowdown_from_env)
    """A test setting: agents made this many times slower (AMAS_AGENT_SLOWDOWN)."""


def default_workflows() -> dict[str, WorkflowDef[Any]]:
    from actors.workflows.registry import WORKFLOWS

    return dict(WORKFLOWS)


class Node:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.started_at = time.time()
        self.nats_server: EmbeddedNatsServer | None = None
        self.nats_url = config.nats_url or ""
        self.store: SQLiteEventStore
        self.projections: ProjectionRunner
        self.reader: aiosqlite.Connection
        self.bus: Bus
        self.relay: Relay
        self.fleet: Fleet
        self.broker: BrokerWatch
        self.keyring: KeyRing
        self.key_commands: KeyCommands
        self.providers: ProviderPool
        self.workflows: Workflows
        self.webhooks: WebhookRegistry
        self.deliverer: Deliverer
        self.alerts: AlertMonitor
        self.sampler: HostSampler
        self.prometheus: NodeMetrics
        self.optimizer: Optimizer
        self.worker = Worker()
        """The node's process for CPU-heavy jobs (hash-chain walks, the optimizer's
        training), spawned at the first."""
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Node:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        paths = self.config.data.ensure()
        paths.pid_file.write_text(str(os.getpid()))
        self._stack.callback(paths.pid_file.unlink, missing_ok=True)

        if not self.config.nats_url:
            self.nats_server = EmbeddedNatsServer(paths.nats_dir, self.config.nats_port)
            await self.nats_server.start()
            self._on_stop(self.nats_server.stop)
            self.nats_url = self.nats_server.url
        self.broker = BrokerWatch(self.nats_url)
        if self.nats_server is not None:
            self._background(self.broker.keep_running(self.nats_server), "nats-watchdog")

        self._on_stop(self.worker.close)
        self.store = await SQLiteEventStore.open(paths.events_db)
        self._on_stop(self.store.close)
        self.broker.store = self.store
        self.projections = await ProjectionRunner.open(
            self.store, paths.projections_db, all_projections()
        )
        self._on_stop(self.projections.close)
        self.projections.start()
        # Decisions are made on the projections' picture of unfinished work: catch up first.
        await self.projections.wait_for(self.store.head, timeout=CATCH_UP_TIMEOUT)
        self.reader = await aiosqlite.connect(
            f"file:{paths.projections_db}?mode=ro", uri=True, isolation_level=None
        )
        self._on_stop(self.reader.close)
        self.keyring = KeyRing(self.store, self.config.admin_key)
        await self.keyring.start(self.reader, self.projections.position("api_keys"))
        self._on_stop(self.keyring.stop)

        self.bus = await Bus.connect(
            self.nats_url,
            name=f"amas-node-{os.getpid()}",
            on_disconnect=self.broker.lost,
            on_reconnect=self.broker.back,
        )
        self._on_stop(self.bus.close)
        self.relay = await Relay.open(self.store, self.bus, paths.relay_db)
        self._on_stop(self.relay.close)
        self.relay.start()

        # The scheduler and the agents learn what happened from the log itself, not from
        # NATS: a broker outage cannot make them miss a committed event.
        follow_from = self.store.head + 1
        slowdown = self.config.agent_slowdown
        self.fleet = Fleet(
            self.store,
            self.bus,
            [
                msgspec.structs.replace(spec, slowdown=slowdown[spec.agent_id])
                if spec.agent_id in slowdown
                else spec
                for spec in self.config.agents
            ],
            self.reader,
            self.projections.wait_for,
            self.config.scopes,
            self.config.learning,
        )
        await self.fleet.load_caching()
        self.fleet.start()
        self._background(follow_log(self.fleet, follow_from), "follow-log")
        self._background(tick(self.fleet), "scheduler-tick")
        self.key_commands = KeyCommands(self.store, self.keyring.wait_for)
        self._on_stop(self.key_commands.drain)
        self.providers = ProviderPool(
            self.config.providers,
            self.store,
            self.bus.publish,
            self.config.router,
            self._provider_changes,
        )
        await self.providers.start()
        self._on_stop(self.providers.stop)
        self.workflows = Workflows(
            self.store,
            self.bus.request,
            self.config.workflows,
            self.config.scopes,
            self.reader,
            self.projections.wait_for,
            ai_timeout=self.config.router.retry_budget + 10.0,
            github=self.config.github,
        )
        await self.workflows.start()
        self._on_stop(self.workflows.stop)
        secrets = await SecretStore.open(paths.webhook_secrets)
        self._on_stop(secrets.close)

        async def webhooks_settled(position: int) -> None:
            await self.projections.wait_for(position, 5.0, "webhooks")

        self.webhooks = WebhookRegistry(
            self.store, secrets, self.config.webhook_allow, webhooks_settled
        )
        self._on_stop(self.webhooks.drain)
        self.deliverer = Deliverer(
            self.store,
            secrets,
            self.config.webhook_allow,
            paths.webhooks_db,
            webhook_queries.DeliveryReads(self.reader),
            self.config.webhook_schedule,
            self.config.webhook_disable_after,
        )
        await self.deliverer.start()
        self._on_stop(self.deliverer.stop)
        self.alerts = AlertMonitor(
            self.store, self.config.alerts, paths.alerts_db, self._alert_sources(paths)
        )
        await self.alerts.start()
        self._on_stop(self.alerts.stop)
        self.sampler = await HostSampler.open(
            paths.metrics_db, paths.root, self.config.metrics_sample_seconds
        )
        self._on_stop(self.sampler.close)
        self.sampler.start()
        self.prometheus = NodeMetrics(self, paths.projections_db)
        self._on_stop(self.prometheus.close)
        self.optimizer = Optimizer(
            self.store,
            self.reader,
            self.config.learning,
            lambda: list(self.fleet.specs.values()),
            lambda: self.fleet.runner.caching,
            {name for name, skill in SKILLS.items() if skill.inputs is not None},
            self._configure_agent,
            self.worker,
        )
        self._background(self.optimizer.run(), "optimizer")
        await route(
            self.bus,
            self.fleet,
            self.key_commands,
            self.providers,
            self.workflows,
            self.webhooks,
            self.optimizer,
        )
        await self.fleet.announce()
        # Ready means the read models show what the node just wrote (all its agents).
        await self.projections.wait_for(self.store.head, timeout=CATCH_UP_TIMEOUT)

    async def _configure_agent(self, agent_id: str, max_concurrent_tasks: int) -> bool:
        """The optimizer's change to an agent, through the agent's own command."""
        command = ConfigureAgent(
            agent_id=agent_id,
            max_concurrent_tasks=max_concurrent_tasks,
            meta=Meta(actor=OPTIMIZER),
        )
        try:
            reply = await self.bus.request(CONFIGURE_AGENT, command)
        except BusUnavailable:
            return False
        return reply.ok

    async def _provider_changes(self) -> dict[str, dict[str, Any]]:
        return await provider_queries.configuration_changes(self.reader)

    def _alert_sources(self, paths: DataPaths) -> Sources:
        async def active(position: int) -> list[SystemAlerted]:
            await self.projections.wait_for(position, CATCH_UP_TIMEOUT, "alerts")
            return await alert_queries.active_alerts(self.reader)

        async def verify(after: Anchor | None) -> VerifyResult:
            # CPU work: the worker process, over a read-only connection of its own.
            return await self.worker.run(verify_path, paths.events_db, after)

        return Sources(
            active=active,
            usable=lambda: usable(self.providers),
            queued=lambda: task_queries.queued_count(self.reader),
            disk_free=lambda: shutil.disk_usage(paths.root).free,
            verify=verify,
        )

    def _background(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)

        async def cancel() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self._on_stop(cancel)

    def _on_stop(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Register a part to close on stop, last opened first, each with a time limit:
        a part that does not close is logged and left, so stopping never hangs."""

        async def bounded() -> None:
            try:
                await asyncio.wait_for(close(), _STOP_TIMEOUT)
            except TimeoutError:
                log.error("%s did not close within %.0f s; leaving it", close, _STOP_TIMEOUT)

        self._stack.push_async_callback(bounded)

    async def stop(self) -> None:
        if hasattr(self, "broker"):
            self.broker.stopping = True
        if hasattr(self, "fleet"):
            await self.fleet.stop()
        await self._stack.aclose()

    @property
    def version(self) -> str:
        return __version__
