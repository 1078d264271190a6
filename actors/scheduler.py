"""The scheduler: which queued task runs next, and on which agent.

Order: priority (critical > high > normal > low), then age. An agent takes a task when
it runs that task type and has a free slot under its max_concurrent_tasks; among such
agents the one with the highest priority wins, then the least loaded. The scheduler
learns what to schedule from the committed events (task.created, task.requeued, and
the terminal ones free a slot), so it sees exactly what the log says.

With a decision engine (AMAS_SCHEDULER=learned, actors/learning/decision.py) the agent
is the engine's choice instead, and a task may wait for a busy agent that would still
finish it sooner; the decision travels with the hand-out and is written with the start.
The engine's model learns from the same committed events (`Learn`).

A hand-out travels over NATS and can be lost (the broker restarts, the agent's node
dies before claiming it). Until the log shows the task started, the scheduler offers
it again every `reoffer_after` seconds; an agent and the task manager both take a
repeated hand-out for the one it repeats.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec

from actors.io import LoopBridge
from actors.learning.decision import Candidate, DecisionEngine
from actors.supervision import SupervisedActor, Supervisor
from events import tracing
from events.commands import Work, command_encoder, work_subject
from events.envelope import Event
from events.learning import Model
from events.types.learning import MlDecided
from events.vocabulary import Priority

log = logging.getLogger(__name__)

RANK: dict[str, int] = {priority: priority.rank for priority in Priority}
"""Priority.rank by the priority's text, as a command carries it."""

Send = Callable[[str, bytes, dict[str, str] | None], None]
"""Publish without waiting (Bus.send_soon): hand-outs are fire and forget."""


class Queued(msgspec.Struct, frozen=True, kw_only=True):
    task_id: str
    task_type: str
    priority: str
    attempt: int
    """The attempt this run will be (1 for a new task)."""
    trace: str | None = None
    """The traceparent of the event that queued it: the hand-out carries it on."""


class Ended(msgspec.Struct, frozen=True):
    task_id: str


class Started(msgspec.Struct, frozen=True):
    """The log says the agent claimed the task: its hand-out arrived."""

    task_id: str
    attempt: int


class Learn(msgspec.Struct, frozen=True):
    """Committed events the decision engine's model folds (events/learning.py), a
    batch's worth at a time."""

    events: tuple[Event, ...]


class ShowModel(msgspec.Struct, frozen=True):
    """Hand the decision engine's model as it is now (a copy; None without an engine)."""

    reply: Callable[[Model | None], None]


class Tick(msgspec.Struct, frozen=True):
    """Time passes: offer again what no agent has claimed."""


class Restore(msgspec.Struct, frozen=True, kw_only=True):
    """What the read model says is waiting, and which agent runs what."""

    queued: list[Queued]
    placed: list[tuple[str, str, int]]
    """(task id, agent id, attempt) of tasks in progress"""
    model: Model | None = None
    """The decision engine's model as the log has it (None: no engine)."""


Load = Callable[[], Awaitable[Restore]]

SCAN = 64
"""At most this many queued tasks are planned per dispatch by the decision engine."""


class Slot(msgspec.Struct, kw_only=True):
    agent_id: str
    agent_type: str
    task_types: frozenset[str]
    max_concurrent_tasks: int
    priority: str
    up: bool = True
    running: set[str] = msgspec.field(default_factory=set)

    def free(self) -> int:
        return self.max_concurrent_tasks - len(self.running) if self.up else 0


class Configure(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: str
    max_concurrent_tasks: int | None = None
    priority: str | None = None
    up: bool | None = None


def choose_agent(slots: Iterable[Slot], task_type: str) -> Slot | None:
    """The best agent for `task_type` with a free slot, or None."""
    best: Slot | None = None
    for slot in slots:
        if task_type not in slot.task_types or slot.free() <= 0:
            continue
        if best is None or _preference(slot) < _preference(best):
            best = slot
    return best


def _preference(slot: Slot) -> tuple[int, float, str]:
    return (
        RANK.get(slot.priority, 2),
        len(slot.running) / slot.max_concurrent_tasks,
        slot.agent_id,
    )


class Scheduler(SupervisedActor):
    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        bridge: LoopBridge,
        send: Send,
        slots: list[Slot],
        load: Load,
        reoffer_after: float = 5.0,
        engine: DecisionEngine | None = None,
    ) -> None:
        super().__init__(supervisor, name)
        self.bridge = bridge
        self.send = send
        self.load = load
        # Until the queue and the placements are read back (at boot, after a crash),
        # messages wait: an Ended before its placement is known would leak a slot.
        self.restored = False
        self.held: list[Any] = []
        self.slots = {slot.agent_id: slot for slot in slots}
        self.queues: dict[str, list[tuple[int, int, Queued]]] = {}
        self.queued: dict[str, int] = {}
        """task id -> the attempt waiting in a queue"""
        self.placed: dict[str, tuple[str, int]] = {}
        """task id -> (agent id, attempt) for tasks handed to an agent"""
        self.unclaimed: dict[str, tuple[float, Queued, Work]] = {}
        """task id -> (when last offered, what was queued, the hand-out), until it starts"""
        self.reoffer_after = reoffer_after
        self.engine = engine
        self.since: dict[str, tuple[float, str]] = {}
        """task id -> (when handed out, its type), for the engine's timetable"""
        self._seq = itertools.count()

    def on_start(self) -> None:
        self.bridge.spawn(self._restore())

    async def _restore(self) -> None:
        self.me.tell(await self.load())

    def on_receive(self, message: Any) -> Any:
        if not self.restored and not isinstance(message, Restore):
            self.held.append(message)  # decided after the restore, in arrival order
            return
        match message:
            case Restore(queued=waiting, placed=placements, model=model):
                self.restored = True
                if self.engine is not None and model is not None:
                    self.engine.model = model
                for task_id, agent_id, attempt in placements:
                    if agent_id in self.slots:
                        self.slots[agent_id].running.add(task_id)
                        self.placed[task_id] = (agent_id, attempt)
                        self.since[task_id] = self._restored_since(task_id)
                held, self.held = [*waiting, *self.held], []
                for message in held:
                    self.on_receive(message)
            case Queued() as queued:
                self._enqueue(queued)
            case Ended(task_id=task_id):
                self.queued.pop(task_id, None)  # a queued task cancelled before it ran
                self._release(task_id)
            case Started(task_id=task_id, attempt=attempt):
                offered = self.unclaimed.get(task_id)
                if offered is not None and offered[2].attempt <= attempt:
                    del self.unclaimed[task_id]
                return
            case Tick():
                self._reoffer()
                return
            case ShowModel(reply=reply):
                engine = self.engine
                reply(None if engine is None else msgspec.structs.replace(engine.model))
                return
            case Learn(events=events):
                if self.engine is not None:
                    for event in events:
                        self.engine.model.apply(event)
                        if event.type == "ml.decision":
                            self.engine.settled(event.data.task_id)
                return
            case Configure(agent_id=agent_id) as change:
                slot = self.slots.get(agent_id)
                if slot is None:
                    return
                if change.max_concurrent_tasks is not None:
                    slot.max_concurrent_tasks = change.max_concurrent_tasks
                if change.priority is not None:
                    slot.priority = change.priority
                if change.up is not None:
                    slot.up = change.up
                    if not change.up:
                        for task_id in list(slot.running):
                            offered = self.unclaimed.get(task_id)
                            self._release(task_id)
                            if offered is not None:  # never claimed: it waits again
                                self._enqueue(offered[1])
            case _:
                raise TypeError(f"scheduler got an unknown message: {message!r}")
        self._dispatch()

    def _enqueue(self, queued: Queued) -> None:
        task_id, attempt = queued.task_id, queued.attempt
        if self.queued.get(task_id, 0) >= attempt:
            return  # a redelivered event
        placed = self.placed.get(task_id)
        if placed is not None:
            if placed[1] >= attempt:
                return
            self._release(task_id)
        self.queued[task_id] = attempt
        heapq.heappush(
            self.queues.setdefault(queued.task_type, []),
            (RANK.get(queued.priority, 2), next(self._seq), queued),
        )

    def _release(self, task_id: str) -> None:
        self.unclaimed.pop(task_id, None)
        self.since.pop(task_id, None)
        if self.engine is not None:
            self.engine.settled(task_id)
        placed = self.placed.pop(task_id, None)
        if placed is not None and placed[0] in self.slots:
            self.slots[placed[0]].running.discard(task_id)

    def _dispatch(self) -> None:
        if self.engine is not None:
            self._dispatch_learned(self.engine)
            return
        while True:
            best: tuple[int, int, Queued] | None = None
            for queue in self.queues.values():
                if (
                    self._clean(queue)
                    and (best is None or queue[0] < best)
                    and choose_agent(self.slots.values(), queue[0][2].task_type) is not None
                ):
                    best = queue[0]
            if best is None:
                return
            queued = heapq.heappop(self.queues[best[2].task_type])[2]
            slot = choose_agent(self.slots.values(), queued.task_type)
            assert slot is not None
            self._place(queued, slot, None)

    def _place(self, queued: Queued, slot: Slot, decision: MlDecided | None) -> None:
        del self.queued[queued.task_id]
        slot.running.add(queued.task_id)
        self.placed[queued.task_id] = (slot.agent_id, queued.attempt)
        self.since[queued.task_id] = (time.monotonic(), queued.task_type)
        work = Work(
            task_id=queued.task_id,
            agent_id=slot.agent_id,
            attempt=queued.attempt,
            trace=queued.trace,
            decision=decision,
        )
        self._offer(queued, work)

    def _dispatch_learned(self, engine: DecisionEngine) -> None:
        """Plan queued tasks in order (priority, then age) on the engine's timetable:
        each either goes to a free agent or waits for a busy one it would rather have."""
        free = sum(slot.free() for slot in self.slots.values())
        if free <= 0:
            return
        heads: list[tuple[tuple[int, int, Queued], str]] = []
        for task_type, queue in self.queues.items():
            if self._clean(queue):
                heads.append((queue[0], task_type))
        heapq.heapify(heads)
        horizon = engine.horizon()
        now = time.monotonic()
        waiting: list[tuple[int, int, Queued]] = []
        candidates: dict[str, list[Candidate]] = {}
        for _ in range(SCAN):
            if not heads or free <= 0:
                break
            entry, task_type = heapq.heappop(heads)
            queue = self.queues[task_type]
            heapq.heappop(queue)
            if self._clean(queue):
                heapq.heappush(heads, (queue[0], task_type))
            queued = entry[2]
            able = candidates.get(task_type)
            if able is None:
                able = candidates[task_type] = self._candidates(task_type, now)
            if not able:
                waiting.append(entry)
                continue
            choice = engine.choose(
                queued.task_id,
                task_type,
                queued.attempt,
                able,
                horizon,
                functools.partial(self._fixed_choice, task_type),
            )
            if choice is None:
                waiting.append(entry)
                continue
            self._place(queued, self.slots[choice.agent_id], choice.decision)
            free -= 1
            for agent in able:
                if agent.agent_id == choice.agent_id:
                    agent.free -= 1
        for entry in waiting:
            heapq.heappush(self.queues[entry[2].task_type], entry)

    def _fixed_choice(self, task_type: str) -> str | None:
        """The agent the fixed rule would give a task of `task_type` now."""
        slot = choose_agent(self.slots.values(), task_type)
        return None if slot is None else slot.agent_id

    def _clean(self, queue: list[tuple[int, int, Queued]]) -> bool:
        """Drop the queue's ended or superseded heads; True if a task is left."""
        while queue and self.queued.get(queue[0][2].task_id) != queue[0][2].attempt:
            heapq.heappop(queue)
        return bool(queue)

    def _candidates(self, task_type: str, now: float) -> list[Candidate]:
        return [
            Candidate(
                agent_id=slot.agent_id,
                free=slot.free(),
                running=functools.partial(self._running_on, slot, now),
                capacity=slot.max_concurrent_tasks,
            )
            for slot in self.slots.values()
            if slot.up and task_type in slot.task_types
        ]

    def _running_on(self, slot: Slot, now: float) -> list[tuple[str, float]]:
        """(task type, seconds since it was handed out) of each task the agent runs."""
        return [
            (since[1], now - since[0])
            for since in map(self.since.get, slot.running)
            if since is not None
        ]

    def _restored_since(self, task_id: str) -> tuple[float, str]:
        """When a task found running at a restore started, from the model's record."""
        if self.engine is not None:
            running = self.engine.model.running.get(task_id)
            if running is not None:
                elapsed = max(0.0, time.time() - running.started / 1_000_000)
                return time.monotonic() - elapsed, running.task_type
        return time.monotonic(), ""

    def _offer(self, queued: Queued, work: Work) -> None:
        self.unclaimed[work.task_id] = (time.monotonic(), queued, work)
        agent_type = self.slots[work.agent_id].agent_type
        # Lost if the broker is away; the next tick offers it again.
        trace = queued.trace
        headers = {tracing.TRACEPARENT: trace} if trace and tracing.sampled(trace) else None
        self.send(work_subject(agent_type), command_encoder.encode(work), headers)

    def _reoffer(self) -> None:
        stale = time.monotonic() - self.reoffer_after
        for offered_at, queued, work in list(self.unclaimed.values()):
            if offered_at <= stale:
                log.info("offering %s again: no agent claimed it", work.task_id)
                self._offer(queued, work)
