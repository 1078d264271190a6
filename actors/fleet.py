"""A node's actors: the task manager, the scheduler and the agents, supervised.

The fleet starts them, hands them what the bus brings (commands, work, cancellations),
and records what happens to an agent that crashes. It knows the bus only by its
interface and learns the state of unfinished work from the task projection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
import msgspec

from actors.agents.agent import Agent
from actors.agents.catalog import AgentSpec
from actors.agents.messages import Assign
from actors.agents.runner import WorkRunner
from actors.agents.scope import Scopes
from actors.agents.skills import COMPOSITES, validators
from actors.io import Incoming, LoopBridge
from actors.learning.decision import DecisionEngine
from actors.learning.settings import LearningSettings
from actors.scheduler import Configure, Queued, Restore, Scheduler, ShowModel, Slot
from actors.supervision import Child, Supervisor
from actors.tasks.decide import TaskState
from actors.tasks.manager import AgentLost, TaskManager
from events.commands import REPORT_TASK, Command, CommandBus, ReplyFn, Work, rejected
from events.envelope import Meta
from events.learning import Model
from events.queries import learning as learning_queries
from events.queries import tasks as task_queries
from events.queries.tasks import unfinished_tasks
from events.store import ANY_VERSION, EventStore
from events.types import AgentErrored, AgentStarted
from events.vocabulary import ErrorCode, TaskStatus

CATCH_UP_TIMEOUT = 60.0

WaitFor = Callable[[int, float, str | None], Awaitable[None]]
"""Wait until a projection (None: every one) has applied a position."""


def agent_started(spec: AgentSpec, restarts: int) -> AgentStarted:
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


class Fleet:
    """`start()` on the node's event loop; `stop()` before the store and the bus close."""

    def __init__(
        self,
        store: EventStore,
        bus: CommandBus,
        specs: list[AgentSpec],
        reader: aiosqlite.Connection,
        wait_for: WaitFor,
        scopes: Scopes,
        learning: LearningSettings | None = None,
    ) -> None:
        self.store = store
        self.learning = learning or LearningSettings()
        self.scopes = scopes
        self.bus = bus
        self.reader = reader
        self.wait_for = wait_for
        self.specs: dict[str, AgentSpec] = {spec.agent_id: spec for spec in specs}
        """Each agent's current configuration (the catalog's, then agent.configured)."""
        self.agent_types = sorted({spec.agent_type for spec in specs})
        self.bridge: LoopBridge
        self.supervisor: Supervisor
        self.task_manager: Child
        self.scheduler: Child
        self.agents: dict[str, Child] = {}
        self.runner = WorkRunner(bus.request, bus.publish, REPORT_TASK, scopes, self._read_task)
        self.runner.cached = self._cached_result

    async def _read_task(self, task_id: str) -> dict[str, Any] | None:
        return await task_queries.get_task(self.reader, task_id)

    async def _cached_result(self, key: str) -> tuple[str, dict[str, Any]] | None:
        task_id = await learning_queries.cached_task(self.reader, key)
        task = None if task_id is None else await self._read_task(task_id)
        if task is None or task.get("result") is None:
            return None
        return task["task_id"], task["result"]

    async def load_caching(self) -> None:
        """Which task types have result caching on, as the log says (then the feed)."""
        self.runner.caching = await learning_queries.caching(self.reader)

    def start(self) -> None:
        self.bridge = LoopBridge(asyncio.get_running_loop())
        self.supervisor = sup = Supervisor(self.bridge)
        bridge = self.bridge
        by_type: dict[str, list[str]] = {}
        for spec in self.specs.values():
            for task_type in spec.task_types:
                by_type.setdefault(task_type, []).append(spec.agent_id)
        self.task_manager = sup.start(
            "task-manager",
            lambda: TaskManager.start(
                sup,
                "task-manager",
                bridge,
                self.store,
                self.bus.publish,
                by_type,
                validators(self.scopes),
                self._load_unfinished,
                COMPOSITES,
            ),
        )
        self.scheduler = sup.start(
            "scheduler",
            lambda: Scheduler.start(
                sup,
                "scheduler",
                bridge,
                self.bus.send_soon,
                self.slots(),
                self._load_schedule,
                engine=self._engine(),
            ),
        )
        for agent_id in self.specs:
            self.agents[agent_id] = sup.start(
                agent_id,
                # A restarted agent gets its current configuration, not the catalog's.
                lambda agent_id=agent_id: Agent.start(  # type: ignore[misc]
                    sup, self.specs[agent_id], bridge, self.runner, self.store
                ),
                on_crash=self._agent_crashed,
            )

    async def stop(self) -> None:
        if hasattr(self, "supervisor"):
            await asyncio.to_thread(self.supervisor.stop_all)
            await self.bridge.drain(timeout=2.0)

    @property
    def learns(self) -> bool:
        """True if the scheduler runs the decision engine (AMAS_SCHEDULER=learned)."""
        return self.learning.scheduler == "learned"

    def _engine(self) -> DecisionEngine | None:
        """A fresh engine for a (re)started scheduler; its model comes with the restore."""
        return DecisionEngine(Model(), self.learning.exploration) if self.learns else None

    async def live_model(self) -> Model | None:
        """The scheduler's model now (None: no decision engine)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Model | None] = loop.create_future()

        def reply(model: Model | None) -> None:
            loop.call_soon_threadsafe(answer.set_result, model)

        self.scheduler.tell(ShowModel(reply))
        return await answer

    def alive(self) -> bool:
        return all(a.alive() for a in (self.task_manager, self.scheduler, *self.agents.values()))

    def slots(self) -> list[Slot]:
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

    def agents_for(self, task_type: str) -> list[str]:
        return [s.agent_id for s in self.specs.values() if task_type in s.task_types]

    async def announce(self) -> None:
        """Record that each agent is up (agent.started)."""
        for spec in self.specs.values():
            await self.store.append(
                f"agent-{spec.agent_id}", ANY_VERSION, [agent_started(spec, 0)], Meta(actor="node")
            )

    # -- what the bus brings ----------------------------------------------------------

    def task_command(self, command: Command, reply: ReplyFn) -> None:
        self.task_manager.tell(Incoming(command, reply))

    def agent_command(self, command: Command, reply: ReplyFn) -> None:
        agent_id = getattr(command, "agent_id", "")
        agent = self.agents.get(agent_id)
        if agent is None:
            reply(rejected(ErrorCode.NOT_FOUND, f"agent {agent_id!r} not found"))
        else:
            agent.tell(Incoming(command, reply))

    def work(self, work: Work, trace: str | None = None) -> None:
        agent = self.agents.get(work.agent_id)
        if agent is not None:
            agent.tell(Assign(work, trace))

    def cancel_work(self, task_id: str) -> None:
        self.runner.cancel(task_id)

    # -- crashes ----------------------------------------------------------------------

    def _agent_crashed(self, agent_id: str, error: BaseException, crashes: int) -> None:
        """Runs as the crashed agent stops: record it, release its tasks."""
        spec = self.specs[agent_id]
        self.bridge.call(self.runner.cancel_agent, agent_id)
        self.task_manager.tell(AgentLost(agent_id, f"agent crashed: {error!r}"))
        self.scheduler.tell(Configure(agent_id=agent_id, up=False))
        self.bridge.spawn(self._record_crash(spec, error, crashes))

    async def _record_crash(self, spec: AgentSpec, error: BaseException, crashes: int) -> None:
        stream = f"agent-{spec.agent_id}"
        errored = AgentErrored(
            agent_id=spec.agent_id,
            agent_type=spec.agent_type,
            error=f"{type(error).__name__}: {error}",
            restarts=crashes,
        )
        await self.store.append(stream, ANY_VERSION, [errored], Meta(actor="supervisor"))
        await asyncio.sleep(self.supervisor.restart_delay(crashes))
        await self.store.append(
            stream, ANY_VERSION, [agent_started(spec, crashes)], Meta(actor="supervisor")
        )
        self.scheduler.tell(Configure(agent_id=spec.agent_id, up=True))

    # -- what the actors load at start (from projections, never from other actors) ----

    async def _load_unfinished(self) -> list[TaskState]:
        await self.wait_for(self.store.head, CATCH_UP_TIMEOUT, None)
        return [
            TaskState(
                task_id=t.task_id,
                task_type=t.task_type,
                parameters=t.parameters,
                priority=t.priority,
                status=t.status,
                version=t.version,
                attempt=t.attempt,
                max_attempts=t.max_attempts,
                agent_id=t.agent_id,
                api_key_id=t.api_key_id,
                parent_id=t.parent_id,
                parts=t.parts,
            )
            for t in await unfinished_tasks(self.reader)
        ]

    async def _load_schedule(self) -> Restore:
        await self.wait_for(self.store.head, CATCH_UP_TIMEOUT, None)
        tasks = await unfinished_tasks(self.reader)
        queued = [
            Queued(
                task_id=t.task_id,
                task_type=t.task_type,
                priority=t.priority,
                attempt=t.attempt + 1,
            )
            for t in tasks
            if t.status == TaskStatus.QUEUED and not t.parts  # no agent runs a composite
        ]
        placed = [
            (t.task_id, t.agent_id, t.attempt)
            for t in tasks
            if t.status == TaskStatus.IN_PROGRESS and t.agent_id
        ]
        model = await learning_queries.model(self.reader) if self.learns else None
        return Restore(queued=queued, placed=placed, model=model)

    def reconfigure(self, agent_id: str, **changes: object) -> None:
        """Keep an agent's current configuration (agent.configured) for its restarts."""
        if agent_id in self.specs:
            self.specs[agent_id] = msgspec.structs.replace(self.specs[agent_id], **changes)
