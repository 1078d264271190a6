"""The task manager: the single writer of every task aggregate (stream = task id).

It decides with actors/tasks/decide.py, applies the events to its state at once (it is
the only writer, so it knows each stream's next version), and hands the append to the
event loop. The reply to the caller goes out once the events are durable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec

from actors.agents.skills.composite import Composite
from actors.io import Incoming, LoopBridge, ReplyFn
from actors.supervision import SupervisedActor, Supervisor
from actors.tasks import decide, parts, readback
from actors.tasks.decide import Rejection, TaskState, Validator
from actors.tasks.parts import PartView
from events import tracing
from events.commands import (
    CANCEL_WORK,
    CancelTask,
    CancelWork,
    CompleteTask,
    FailTask,
    Reply,
    ReportProgress,
    StartTask,
    SubmitTask,
    command_encoder,
)
from events.envelope import EventData, Meta
from events.errors import ConcurrencyError, EventsError
from events.ids import new_prefixed_id
from events.store.base import AppendResult, EventStore
from events.types import TaskCreated
from events.vocabulary import ErrorCode, TaskStatus

log = logging.getLogger(__name__)

_FINISHED_KEPT = 100_000

Publish = Callable[[str, bytes], Any]


class AgentLost(msgspec.Struct, frozen=True):
    """An agent crashed or vanished: its tasks are requeued or failed."""

    agent_id: str
    reason: str


class Reload(msgspec.Struct, frozen=True):
    """An append failed: read the task back from the log before deciding again."""

    task_id: str


class Restore(msgspec.Struct, frozen=True):
    """The unfinished tasks as the projections know them (at boot, after a crash)."""

    tasks: list[TaskState]
    requeue: bool
    """True at boot: tasks in progress lost their agents with the node."""


class TaskManager(SupervisedActor):
    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        bridge: LoopBridge,
        store: EventStore,
        publish: Publish,
        agents_by_type: Mapping[str, list[str]],
        validators: Mapping[str, Validator],
        load_unfinished: Callable[[], Awaitable[list[TaskState]]],
        composites: Mapping[str, Composite[Any]] | None = None,
    ) -> None:
        super().__init__(supervisor, name)
        self.composites = dict(composites or {})
        self.bridge = bridge
        self.store = store
        self.publish = publish
        self.agents_by_type = agents_by_type
        self.validators = validators
        self.load_unfinished = load_unfinished
        self.tasks: dict[str, TaskState] = {}
        # Recently finished tasks, so a late cancel or report is a conflict, not "not found".
        self.finished: OrderedDict[str, TaskState] = OrderedDict()
        # Unfinished tasks per submitting key, for the tiers' concurrent-task limits.
        self.active: Counter[str] = Counter()
        # Events of parts whose composite is being read back (Reload), by composite id.
        self.orphans: dict[str, list[tuple[str, EventData]]] = {}
        # Until the unfinished tasks are loaded (at boot, after a crash), commands wait.
        self.restored = False
        self.held: list[Any] = []

    def on_start(self) -> None:
        self.bridge.spawn(self._restore())

    def on_receive(self, message: Any) -> Any:
        if not self.restored and not isinstance(message, Restore):
            self.held.append(message)
            return
        match message:
            case Incoming(command=command, reply=reply, trace=trace):
                meta = getattr(command, "meta", None)
                with tracing.span(
                    f"decide {_tag(command)}",
                    parent=trace,
                    request_id=meta.request_id if meta is not None else None,
                    task_id=getattr(command, "task_id", None),
                ):
                    self._handle(command, reply)
            case AgentLost(agent_id=agent_id, reason=reason):
                for state in [s for s in self.tasks.values() if s.agent_id == agent_id]:
                    self._commit(state, decide.agent_lost(state, reason), Meta(actor=agent_id))
            case Reload(task_id=task_id):
                dropped = self.tasks.pop(task_id, None)
                if dropped is not None:
                    self._count(dropped, -1)
                self.bridge.spawn(self._reload(task_id))
            case Restore(tasks=tasks, requeue=requeue):
                self.restored = True
                for state in tasks:
                    self.tasks[state.task_id] = state
                    self._count(state, +1)
                    if (
                        requeue and state.status == TaskStatus.IN_PROGRESS
                    ):  # its agent died with the node
                        self._commit(
                            state,
                            decide.agent_lost(state, "node restarted"),
                            Meta(actor="task-manager"),
                        )
                for state in tasks:
                    if state.parts and state.task_id in self.tasks:
                        self._resume_composite(state)
                held, self.held = self.held, []
                for message in held:
                    self.on_receive(message)
            case TaskState() as state:
                self.tasks[state.task_id] = state
                self._count(state, +1)
                if state.parts:
                    for child_id, event in self.orphans.pop(state.task_id, []):
                        view = state.views.get(child_id)
                        if view is not None:
                            parts.follow(view, event)
                    self._resume_composite(state)
            case _:
                raise TypeError(f"task manager got an unknown message: {message!r}")

    def _handle(self, command: Any, reply: ReplyFn | None) -> None:
        state: TaskState | None
        data: dict[str, Any] = {}
        match command:
            case SubmitTask(task_id=str() as task_id) if (
                known := self.tasks.get(task_id) or self.finished.get(task_id)
            ) is not None:  # a retry with the same Idempotency-Key: answer as the first time
                if reply is not None:
                    self.bridge.call(reply, decide.retried(known, command))
                return
            case SubmitTask():
                task_id = command.task_id or new_prefixed_id("task")
                tracing.about(task_id)
                decision = decide.submit(
                    task_id,
                    command,
                    self.agents_by_type,
                    self.validators,
                    self.active[command.meta.api_key_id or ""],
                    self.composites,
                )
                state = None
                if not isinstance(decision, Rejection):
                    created = decision[0]
                    assert isinstance(created, TaskCreated)
                    data = {"task_id": task_id, "assigned_agents": created.assigned_agents}
                    if created.parts:  # its parts are created right after it
                        self._commit(None, decision, command.meta, reply, data)
                        self._spawn_parts(created)
                        return
            case CancelTask(task_id=task_id):
                state = self.tasks.get(task_id) or self.finished.get(task_id)
                decision = decide.cancel(state, command)
                if not isinstance(decision, Rejection):
                    data = {"task_id": task_id}
                    self.bridge.spawn(self._broadcast_cancel(task_id))
                    if state is not None and state.parts:
                        self._commit(state, decision, command.meta, reply, data)
                        self._cancel_parts(state, command.meta)
                        return
            case StartTask(task_id=task_id):
                state = self.tasks.get(task_id)
                decision = decide.start(state, command)
                if state is not None and not isinstance(decision, Rejection):
                    data = {"task_type": state.task_type, "parameters": state.parameters}
            case ReportProgress() | CompleteTask() | FailTask():
                state = self.tasks.get(command.task_id)
                decision = decide.report(state, command)
            case _:
                raise TypeError(f"task manager cannot handle {type(command).__name__}")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: %s", _tag(command), _outcome(decision))
        if isinstance(decision, Rejection):
            if reply is not None:
                self.bridge.call(
                    reply,
                    Reply(
                        ok=False,
                        code=decision.code,
                        message=decision.message,
                        details=decision.details,
                    ),
                )
            return
        meta = getattr(command, "meta", None) or Meta(actor=getattr(command, "agent_id", None))
        self._commit(state, decision, meta, reply, data)

    def _commit(
        self,
        state: TaskState | None,
        events: Sequence[EventData],
        meta: Meta,
        reply: ReplyFn | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        if not events:  # nothing to change: the command was already in effect
            if reply is not None:
                self.bridge.call(reply, Reply(ok=True, data=data or {}))
            return
        meta = tracing.stamped(meta)
        expected = state.version if state is not None else 0
        new = state is None
        for event in events:
            state = decide.evolve(state, event)
        assert state is not None
        if state.status.finished:
            if not new:
                self._count(state, -1)
            self.tasks.pop(state.task_id, None)  # finished tasks take no more commands
            self.finished[state.task_id] = state
            if len(self.finished) > _FINISHED_KEPT:
                self.finished.popitem(last=False)
        else:
            if new:
                self._count(state, +1)
            self.tasks[state.task_id] = state
        # On the loop (this actor is served there): queue the append without a coroutine
        # and answer from its future's callback.
        stream = state.task_id
        try:
            appended = self.store.append_soon(stream, expected, list(events), meta)
        except EventsError as e:
            self._append_failed(stream, e, reply)
            return
        appended.add_done_callback(functools.partial(self._appended, stream, reply, data or {}))
        if state.parent_id is not None:
            self._part_moved(state, events)

    # -- composite tasks (parts.py decides) --------------------------------------------

    def _spawn_parts(self, created: TaskCreated) -> None:
        """Create the parts of a new composite task (or those a crash left uncreated)."""
        parent = self.tasks.get(created.task_id)
        composite = self.composites.get(created.task_type)
        if parent is None or composite is None:
            return
        meta = Meta(actor="task-manager")
        for child in parts.spawn(created, composite, self.agents_by_type):
            name = next(n for n, i in created.parts.items() if i == child.task_id)
            parent.views.setdefault(
                child.task_id,
                PartView(name=name, task_id=child.task_id, task_type=child.task_type),
            )
            if child.task_id not in self.tasks and child.task_id not in self.finished:
                self._commit(None, [child], meta)

    def _part_moved(self, child: TaskState, events: Sequence[EventData]) -> None:
        assert child.parent_id is not None
        parent = self.tasks.get(child.parent_id)
        if parent is None:
            if child.parent_id not in self.finished:  # being read back: apply it then
                self.orphans.setdefault(child.parent_id, []).extend(
                    (child.task_id, event) for event in events
                )
            return
        view = parent.views.get(child.task_id)
        composite = self.composites.get(parent.task_type)
        if view is None or composite is None:
            return
        for event in events:
            left = parts.follow(view, event)
            decision = parts.changed(
                parent.task_id,
                parent.status,
                parent.parameters,
                parent.views,
                composite,
                view.agent_id,
                abandoned_by=left,
            )
            self._commit(parent, decision, Meta(actor="task-manager"))

    def _resume_composite(self, parent: TaskState) -> None:
        """After a restore: create missing parts, end the task if its parts all have."""
        composite = self.composites.get(parent.task_type)
        if composite is None:
            return
        missing = [child_id for child_id in parent.parts.values() if child_id not in parent.views]
        if missing:
            self._spawn_parts(
                TaskCreated(
                    task_id=parent.task_id,
                    task_type=parent.task_type,
                    parameters=parent.parameters,
                    priority=parent.priority,
                    max_attempts=parent.max_attempts,
                    api_key_id=parent.api_key_id,
                    parts=parent.parts,
                )
            )
        decision = parts.changed(
            parent.task_id, parent.status, parent.parameters, parent.views, composite, None
        )
        self._commit(parent, decision, Meta(actor="task-manager"))

    def _cancel_parts(self, parent: TaskState, meta: Meta) -> None:
        for child_id, cancelled in parts.cancel_parts(parent.views).items():
            child = self.tasks.get(child_id)
            if child is not None:
                self._commit(child, [cancelled], meta)
                self.bridge.spawn(self._broadcast_cancel(child_id))

    def _count(self, state: TaskState, change: int) -> None:
        """Keep `active` (unfinished tasks per key) in step with `tasks`; a composite
        task's parts count as the one task the key submitted."""
        owner = state.api_key_id
        if owner is not None and state.parent_id is None:
            self.active[owner] += change
            if self.active[owner] <= 0:
                del self.active[owner]

    # -- on the loop between messages: appends' answers, and coroutines never awaited --

    def _appended(
        self,
        stream: str,
        reply: ReplyFn | None,
        data: dict[str, Any],
        appended: asyncio.Future[AppendResult],
    ) -> None:
        if appended.cancelled():
            return
        error = appended.exception()
        if isinstance(error, EventsError):
            self._append_failed(stream, error, reply)
        elif error is not None:
            log.error("append to %s failed", stream, exc_info=error)
        elif reply is not None:
            reply(Reply(ok=True, position=appended.result().last_position, data=data))

    def _append_failed(self, stream: str, error: EventsError, reply: ReplyFn | None) -> None:
        log.warning("append to %s failed: %s", stream, error)
        self.me.tell(Reload(stream))
        if reply is not None:
            code = (
                ErrorCode.CONFLICT
                if isinstance(error, ConcurrencyError)
                else ErrorCode.SERVICE_UNAVAILABLE
            )
            reply(Reply(ok=False, code=code, message=str(error)))

    async def _broadcast_cancel(self, task_id: str) -> None:
        await self.publish(CANCEL_WORK, command_encoder.encode(CancelWork(task_id=task_id)))

    async def _restore(self) -> None:
        tasks = await self.load_unfinished()
        for state in tasks:
            await readback.read_parts(self.store, state)
        self.me.tell(Restore(tasks=tasks, requeue=self.me.crashes == 0))

    async def _reload(self, task_id: str) -> None:
        state = await readback.read_task(self.store, task_id)
        if state is not None:
            self.me.tell(state)


def _tag(command: Any) -> str:
    return str(type(command).__struct_config__.tag)


def _outcome(decision: Rejection | Sequence[EventData]) -> str:
    if isinstance(decision, Rejection):
        return f"refused ({decision.code}: {decision.message})"
    return ", ".join(event.type_name for event in decision) or "nothing to change"
