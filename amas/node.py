"""A node: nats-server (embedded or joined), the event store, projections, the relay,
the actors, and the subscriptions that connect them. `async with Node(config)`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import msgspec
from nats.aio.msg import Msg

from actors.agents.agent import Agent
from actors.agents.catalog import AgentSpec, default_agents
from actors.agents.messages import Assign, Reconfigure
from actors.agents.runner import WorkRunner
from actors.agents.skills import VALIDATORS
from actors.apikeys import KeyCommands
from actors.io import Incoming, LoopBridge
from actors.scheduler import Configure, Ended, Queued, Scheduler, Slot, Started, Tick
from actors.supervision import Child, Supervisor
from actors.tasks.decide import TaskState
from actors.tasks.manager import AgentLost, TaskManager
from amas import __version__
from amas.broker_watch import BrokerWatch
from amas.bus import Bus
from amas.keyring import KeyRing
from amas.messages import (
    CANCEL_TASK,
    CANCEL_WORK,
    CONFIGURE_AGENT,
    CREATE_API_KEY,
    REPORT_TASK,
    REVOKE_API_KEY,
    ROTATE_API_KEY,
    START_TASK,
    SUBMIT_TASK,
    Command,
    Reply,
    cancel_work_decoder,
    rejected,
    work_decoder,
    work_subject,
)
from amas.nats_server import EmbeddedNatsServer
from amas.relay import Relay
from amas.settings import DataPaths
from events.envelope import Event, Meta
from events.projections import ProjectionRunner, all_projections
from events.store import ANY_VERSION, SQLiteEventStore
from events.types import AgentErrored, AgentStarted

log = logging.getLogger(__name__)

_FOLLOWED = frozenset(
    {
        "task.created",
        "task.requeued",
        "task.started",
        "task.completed",
        "task.failed",
        "task.cancelled",
        "agent.configured",
    }
)

_CATCH_UP_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0
_TICK = 1.0
"""How often the scheduler looks for hand-outs no agent claimed."""


def _started(spec: AgentSpec, restarts: int) -> AgentStarted:
    return AgentStarted(
        agent_id=spec.agent_id,
        agent_type=spec.agent_type,
        name=spec.name,
        description=spec.description,
        capabilities=spec.capabilities,
        timeout=spec.timeout,
        max_concurrent_tasks=spec.max_concurrent_tasks,
        priority=spec.priority,
        restarts=restarts,
    )


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
        self.bridge: LoopBridge
        self.supervisor: Supervisor
        self.task_manager: Child
        self.scheduler: Child
        self.agents: dict[str, Child] = {}
        self.specs: dict[str, AgentSpec] = {}
        """Each agent's current configuration (the catalog's, then agent.configured)."""
        self.runner: WorkRunner
        self.broker: BrokerWatch
        self.keyring: KeyRing
        self.key_commands: KeyCommands
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

        self.store = await SQLiteEventStore.open(paths.events_db)
        self._on_stop(self.store.close)
        self.broker.store = self.store
        self.projections = await ProjectionRunner.open(
            self.store, paths.projections_db, all_projections()
        )
        self._on_stop(self.projections.close)
        self.projections.start()
        # Decisions are made on the projections' picture of unfinished work: catch up first.
        await self.projections.wait_for(self.store.head, timeout=_CATCH_UP_TIMEOUT)
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
        await self._start_actors()
        self._background(self._follow_log(follow_from), "follow-log")
        self._background(self._tick(), "scheduler-tick")
        await self._subscribe()
        await self._announce_agents()
        # Ready means the read models show what the node just wrote (all its agents).
        await self.projections.wait_for(self.store.head, timeout=_CATCH_UP_TIMEOUT)

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
        if hasattr(self, "supervisor"):
            await asyncio.to_thread(self.supervisor.stop_all)
            await self.bridge.drain(timeout=2.0)
        await self._stack.aclose()

    # -- wiring -----------------------------------------------------------------------

    async def _start_actors(self) -> None:
        self.bridge = LoopBridge(asyncio.get_running_loop())
        self.supervisor = Supervisor(self.bridge)
        specs = self.config.agents
        self.specs = {spec.agent_id: spec for spec in specs}
        by_type: dict[str, list[str]] = {}
        for spec in specs:
            for task_type in spec.task_types:
                by_type.setdefault(task_type, []).append(spec.agent_id)

        sup, bridge = self.supervisor, self.bridge
        self.task_manager = sup.start(
            "task-manager",
            lambda: TaskManager.start(
                sup,
                "task-manager",
                bridge,
                self.store,
                self.bus.publish,
                by_type,
                VALIDATORS,
                self._load_unfinished,
            ),
        )
        self.scheduler = sup.start(
            "scheduler",
            lambda: Scheduler.start(
                sup, "scheduler", bridge, self.bus.send_soon, self._slots(), self._load_schedule
            ),
        )
        self.runner = WorkRunner(self._request, self.bus.publish, REPORT_TASK)
        for spec in specs:
            agent_id = spec.agent_id
            self.agents[agent_id] = sup.start(
                agent_id,
                # A restarted agent gets its current configuration, not the catalog's.
                lambda agent_id=agent_id: Agent.start(  # type: ignore[misc]
                    sup, self.specs[agent_id], bridge, self.runner, self.store
                ),
                on_crash=self._agent_crashed,
            )

    def _slots(self) -> list[Slot]:
        return [
            Slot(
                agent_id=s.agent_id,
                agent_type=s.agent_type,
                task_types=frozenset(s.task_types),
                max_concurrent_tasks=s.max_concurrent_tasks,
                priority=s.priority,
            )
            for s in self.specs.values()
        ]

    async def _subscribe(self) -> None:
        def to_task_manager(command: Command, reply: Any) -> None:
            self.task_manager.tell(Incoming(command, reply))

        for subject in (SUBMIT_TASK, CANCEL_TASK, START_TASK, REPORT_TASK):
            await self.bus.serve_commands(subject, to_task_manager, queue="task-manager")

        def to_agent(command: Command, reply: Any) -> None:
            agent = self.agents.get(getattr(command, "agent_id", ""))
            if agent is None:
                reply(
                    rejected("NOT_FOUND", f"agent {getattr(command, 'agent_id', '')!r} not found")
                )
            else:
                agent.tell(Incoming(command, reply))

        await self.bus.serve_commands(CONFIGURE_AGENT, to_agent)

        self.key_commands = KeyCommands(self.store, self.keyring.wait_for)
        self._on_stop(self.key_commands.drain)
        for subject in (CREATE_API_KEY, ROTATE_API_KEY, REVOKE_API_KEY):
            await self.bus.serve_commands(subject, self.key_commands.handle, queue="apikeys")

        types = {spec.agent_type for spec in self.config.agents}
        for agent_type in sorted(types):
            await self.bus.subscribe(
                work_subject(agent_type), self._on_work, queue=f"agents-{agent_type}"
            )
        await self.bus.subscribe(CANCEL_WORK, self._on_cancel_work)

    async def _announce_agents(self) -> None:
        for spec in self.config.agents:
            await self.store.append(
                f"agent-{spec.agent_id}",
                ANY_VERSION,
                [_started(spec, restarts=0)],
                Meta(actor="node"),
            )

    async def _on_work(self, msg: Msg) -> None:
        work = work_decoder.decode(msg.data)
        agent = self.agents.get(work.agent_id)
        if agent is not None:
            agent.tell(Assign(work))

    async def _on_cancel_work(self, msg: Msg) -> None:
        self.runner.cancel(cancel_work_decoder.decode(msg.data).task_id)

    async def _follow_log(self, from_position: int) -> None:
        async for batch in self.store.subscribe_batches(from_position):
            for event in batch:
                if event.type in _FOLLOWED:
                    try:
                        await self._on_committed(event)
                    except Exception:
                        log.exception("could not act on %s at %d", event.type, event.position)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            self.scheduler.tell(Tick())

    async def _on_committed(self, event: Event) -> None:
        data = event.data
        match event.type:
            case "task.created":
                self.scheduler.tell(
                    Queued(
                        task_id=data.task_id,
                        task_type=data.task_type,
                        priority=data.priority,
                        attempt=1,
                    )
                )
            case "task.requeued":
                await self.projections.wait_for(event.position, _CATCH_UP_TIMEOUT, "tasks")
                row = await self._task_row(data.task_id)
                if row is not None:
                    self.scheduler.tell(
                        Queued(
                            task_id=data.task_id,
                            task_type=row[0],
                            priority=row[1],
                            attempt=data.attempt + 1,
                        )
                    )
            case "task.started":
                self.scheduler.tell(Started(data.task_id, data.attempt))
            case "task.completed" | "task.failed" | "task.cancelled":
                self.scheduler.tell(Ended(data.task_id))
            case "agent.configured":
                if data.agent_id in self.specs:
                    self.specs[data.agent_id] = msgspec.structs.replace(
                        self.specs[data.agent_id],
                        timeout=data.timeout,
                        max_concurrent_tasks=data.max_concurrent_tasks,
                        priority=data.priority,
                    )
                self.scheduler.tell(
                    Configure(
                        agent_id=data.agent_id,
                        max_concurrent_tasks=data.max_concurrent_tasks,
                        priority=data.priority,
                    )
                )
                agent = self.agents.get(data.agent_id)
                if agent is not None:
                    agent.tell(
                        Reconfigure(
                            timeout=data.timeout,
                            max_concurrent_tasks=data.max_concurrent_tasks,
                            priority=data.priority,
                        )
                    )

    def _agent_crashed(self, agent_id: str, error: BaseException, crashes: int) -> None:
        """Runs as the crashed agent stops: record it, release its tasks."""
        spec = self.specs[agent_id]
        self.bridge.call(self.runner.cancel_agent, agent_id)
        self.task_manager.tell(AgentLost(agent_id, f"agent crashed: {error!r}"))
        self.scheduler.tell(Configure(agent_id=agent_id, up=False))
        self.bridge.spawn(self._record_crash(spec, error, crashes))

    async def _record_crash(self, spec: AgentSpec, error: BaseException, crashes: int) -> None:
        await self.store.append(
            f"agent-{spec.agent_id}",
            ANY_VERSION,
            [
                AgentErrored(
                    agent_id=spec.agent_id,
                    agent_type=spec.agent_type,
                    error=f"{type(error).__name__}: {error}",
                    restarts=crashes,
                )
            ],
            Meta(actor="supervisor"),
        )
        await asyncio.sleep(self.supervisor.restart_delay(crashes))
        await self.store.append(
            f"agent-{spec.agent_id}",
            ANY_VERSION,
            [_started(spec, restarts=crashes)],
            Meta(actor="supervisor"),
        )
        self.scheduler.tell(Configure(agent_id=spec.agent_id, up=True))

    # -- queries the actors need at start (from projections, never from other actors) ---

    async def _load_unfinished(self) -> list[TaskState]:
        await self.projections.wait_for(self.store.head, timeout=_CATCH_UP_TIMEOUT)
        rows = await self.reader.execute_fetchall(
            "SELECT task_id, task_type, parameters, priority, status, version, attempt,"
            " max_attempts, agent_id, api_key_id FROM tasks"
            " WHERE status IN ('queued', 'in_progress')"
        )
        return [
            TaskState(
                task_id=r[0],
                task_type=r[1],
                parameters=msgspec.json.decode(r[2]),
                priority=r[3],
                status=r[4],
                version=r[5],
                attempt=r[6],
                max_attempts=r[7],
                agent_id=r[8],
                api_key_id=r[9],
            )
            for r in rows
        ]

    async def _load_schedule(self) -> tuple[list[Queued], list[tuple[str, str, int]]]:
        await self.projections.wait_for(self.store.head, timeout=_CATCH_UP_TIMEOUT)
        rows = await self.reader.execute_fetchall(
            "SELECT task_id, task_type, priority, attempt, status, agent_id FROM tasks"
            " WHERE status IN ('queued', 'in_progress') ORDER BY created_at"
        )
        queued = [
            Queued(task_id=r[0], task_type=r[1], priority=r[2], attempt=r[3] + 1)
            for r in rows
            if r[4] == "queued"
        ]
        placed = [(r[0], r[5], r[3]) for r in rows if r[4] == "in_progress" and r[5]]
        return queued, placed

    async def _task_row(self, task_id: str) -> tuple[str, str] | None:
        rows = list(
            await self.reader.execute_fetchall(
                "SELECT task_type, priority FROM tasks WHERE task_id = ?", (task_id,)
            )
        )
        return (rows[0][0], rows[0][1]) if rows else None

    async def _request(self, subject: str, command: msgspec.Struct) -> Reply:
        return await self.bus.request(subject, command)

    # -- facts for the API ------------------------------------------------------------

    def services(self) -> dict[str, str]:
        def state(ok: bool) -> str:
            return "running" if ok else "down"

        actors = [self.task_manager, self.scheduler, *self.agents.values()]
        return {
            "nats": state(self.bus.connected),
            "event_store": state(not self.store.closed),
            "projections": state(not self.projections.errors),
            "relay": state(self.relay.running),
            "orchestrator": state(all(a.alive() for a in actors)),
        }

    @property
    def uptime(self) -> float:
        return time.time() - self.started_at

    @property
    def version(self) -> str:
        return __version__
