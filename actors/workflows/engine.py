"""The workflow engine: durable runs of layered steps, resumed where they stood.

An actor on the node's loop takes `amas.cmd.workflow.trigger` and `.cancel`; each
workflow runs as a coroutine that records every move in its stream (`workflow-<id>`,
appended with its expected version, one writer): step started, completed (with its
output and the engine's own time), failed (with the retry it will get), each AI answer,
each log line, and the end. At start the engine reads every unfinished workflow back
from its stream and goes on at its first unfinished step; completed steps are never run
again, and a step that was under way runs again finding its child tasks (stable ids,
submitted idempotently) and its AI answers (stable keys) where it left them.

Child tasks are waited for on the log: the node's feed tells the engine when a task
ends (`TaskEnded`); a task that ended before the wait began is read from the tasks
projection.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from actors.agents.scope import Scopes
from actors.errors import ActorsError
from actors.io import Incoming, LoopBridge, ReplyFn
from actors.supervision import SupervisedActor, Supervisor
from actors.workflows.state import WorkflowState, evolve
from actors.workflows.steps import Answer, Step, StepContext, WorkflowDef
from events.commands import (
    CANCEL_TASK,
    COMPLETE,
    SUBMIT_TASK,
    ApproveWorkflow,
    BusUnavailable,
    CancelTask,
    CancelWorkflow,
    ChatMessage,
    Complete,
    ConfigureWorkflows,
    Reply,
    SubmitTask,
    TriggerWorkflow,
)
from events.envelope import EventData, Meta
from events.ids import new_prefixed_id
from events.store.base import ANY_VERSION, EventStore
from events.types import (
    WorkflowAnswered,
    WorkflowApproved,
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowConfigured,
    WorkflowFailed,
    WorkflowLogged,
    WorkflowStarted,
    WorkflowStepCompleted,
    WorkflowStepFailed,
    WorkflowStepStarted,
)
from events.vocabulary import FINISHED, ErrorCode

log = logging.getLogger(__name__)

Request = Callable[..., Awaitable[Reply]]
ReadTask = Callable[[str], Awaitable[dict[str, Any] | None]]
WaitFor = Callable[[int, float, str | None], Awaitable[None]]


class StepError(ActorsError):
    """A step could not do its work (a child task refused, the bus away ...)."""


class TaskEnded(msgspec.Struct, frozen=True):
    """The log says a task ended (completed, failed or cancelled) at `position`."""

    task_id: str
    position: int


@dataclass
class _Wait:
    task_ids: set[str]
    done: asyncio.Future[int]
    last: int = 0


@dataclass
class Run:
    definition: WorkflowDef[Any]
    state: WorkflowState
    params: Any
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    children: set[str] = field(default_factory=set)


class WorkflowEngine(SupervisedActor):
    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        bridge: LoopBridge,
        store: EventStore,
        request: Request,
        definitions: Mapping[str, WorkflowDef[Any]],
        scopes: Scopes,
        read_task: ReadTask,
        wait_for: WaitFor,
        unfinished: Callable[[], Awaitable[list[str]]],
        estimate: Callable[[str], Awaitable[float | None]],
        ai_timeout: float = 40.0,
        history: Callable[[str, str, int], Awaitable[list[dict[str, Any]]]] | None = None,
        resources: Mapping[str, Any] | None = None,
        load_config: Callable[[], Awaitable[dict[str, dict[str, Any]]]] | None = None,
    ) -> None:
        super().__init__(supervisor, name)
        self.bridge = bridge
        self.store = store
        self.request = request
        self.definitions = definitions
        self.scopes = scopes
        self.read_task = read_task
        self.wait_for = wait_for
        self.unfinished = unfinished
        self.estimate = estimate
        self.ai_timeout = ai_timeout
        self.history = history
        self.resources = dict(resources or {})
        self.load_config = load_config
        self.config: dict[str, dict[str, Any]] = {}
        """Each type's operator settings (workflow.configured)."""
        self.ready = asyncio.Event()
        self.runs: dict[str, Run] = {}
        self.waits: dict[str, list[_Wait]] = {}

    def on_start(self) -> None:
        self.bridge.spawn(self._boot())

    async def _boot(self) -> None:
        if self.load_config is not None:
            self.config = await self.load_config()
        self.ready.set()
        await self._resume_all()

    def on_stop(self) -> None:
        """The node stops: every run stops where it stands (a restart resumes it)."""
        for run in self.runs.values():
            if run.task is not None:
                run.task.cancel()

    def on_receive(self, message: Any) -> Any:
        match message:
            case Incoming(command=TriggerWorkflow() as command, reply=reply):
                self._trigger(command, reply)
            case Incoming(command=CancelWorkflow() as command, reply=reply):
                self.bridge.spawn(self._cancel(command, reply))
            case Incoming(command=ConfigureWorkflows() as command, reply=reply):
                self.bridge.spawn(self._configure(command, reply))
            case Incoming(command=ApproveWorkflow() as command, reply=reply):
                self.bridge.spawn(self._approve(command, reply))
            case TaskEnded(task_id=task_id, position=position):
                for wait in self.waits.pop(task_id, []):
                    wait.task_ids.discard(task_id)
                    wait.last = max(wait.last, position)
                    if not wait.task_ids and not wait.done.done():
                        wait.done.set_result(wait.last)
            case _Wait() as wait:
                for task_id in wait.task_ids:
                    self.waits.setdefault(task_id, []).append(wait)
            case _:
                raise TypeError(f"workflow engine got an unknown message: {message!r}")

    # -- trigger, cancel, resume ---------------------------------------------------------

    def _trigger(self, command: TriggerWorkflow, reply: ReplyFn | None) -> None:
        self.bridge.spawn(self._trigger_when_ready(command, reply))

    async def _trigger_when_ready(self, command: TriggerWorkflow, reply: ReplyFn | None) -> None:
        await self.ready.wait()
        definition = self.definitions.get(command.workflow_type)
        if definition is None:
            _answer(reply, _refused(ErrorCode.INVALID_PARAMETER, "unknown workflow type"))
            return
        settings = self.config.get(definition.workflow_type, {})
        given = {
            parameter: settings[key] for key, parameter in definition.defaults.items()
            if key in settings
        }  # fmt: skip
        try:
            params = msgspec.convert(
                {**given, **command.parameters}, definition.params, str_keys=True
            )
            if definition.check is not None:
                definition.check(params, self.scopes)
        except (msgspec.ValidationError, ValueError, PermissionError) as e:
            code = ErrorCode.FORBIDDEN if isinstance(e, PermissionError) else None
            _answer(reply, _refused(code or ErrorCode.INVALID_PARAMETER, str(e)))
            return
        await self._start(definition, params, command, reply)

    async def _configure(self, command: ConfigureWorkflows, reply: ReplyFn | None) -> None:
        """Check every change first (a bad one changes nothing), then record each type's
        new settings as a workflow.configured event."""
        await self.ready.wait()
        merged: dict[str, dict[str, Any]] = {}
        for workflow_type, changes in command.changes.items():
            definition = self.definitions.get(workflow_type)
            if definition is None:
                _answer(reply, _refused(ErrorCode.INVALID_PARAMETER,
                                        f"unknown workflow type {workflow_type!r}"))  # fmt: skip
                return
            unknown = set(changes) - {*definition.defaults, "timeout"}
            timeout = changes.get("timeout")
            if unknown or (timeout is not None and not (
                isinstance(timeout, int | float) and 1 <= timeout <= 86_400)):  # fmt: skip
                what = f"unknown settings {sorted(unknown)}" if unknown else "timeout: 1-86400"
                _answer(reply, _refused(ErrorCode.INVALID_PARAMETER, f"{workflow_type}: {what}"))
                return
            settings = {**self.config.get(workflow_type, {}), **changes}
            given = {p: settings[k] for k, p in definition.defaults.items() if k in settings}
            try:
                msgspec.convert(given, definition.params, str_keys=True)
            except msgspec.ValidationError as e:
                _answer(reply, _refused(ErrorCode.INVALID_PARAMETER, f"{workflow_type}: {e}"))
                return
            merged[workflow_type] = settings
        events: list[EventData] = [
            WorkflowConfigured(workflow_type=t, settings=s) for t, s in merged.items()
        ]
        result = await self.store.append("workflow-config", ANY_VERSION, events, command.meta)
        self.config.update(merged)
        _answer(reply, Reply(ok=True, position=result.last_position, data=dict(self.config)))

    async def _start(
        self,
        definition: WorkflowDef[Any],
        params: Any,
        command: TriggerWorkflow,
        reply: ReplyFn | None,
    ) -> None:
        workflow_id = new_prefixed_id(definition.workflow_type)
        started = WorkflowStarted(
            workflow_id=workflow_id,
            workflow_type=definition.workflow_type,
            parameters=msgspec.to_builtins(params),
            layers=list(definition.layers),
            steps=[step.name for step in definition.steps],
            api_key_id=command.meta.api_key_id,
            estimated_duration=await self.estimate(definition.workflow_type),
        )
        state = evolve(None, started)
        assert state is not None
        state.version = 0
        run = Run(definition, state, params)
        try:
            position = await self._append(run, [started], command.meta)
        except Exception as e:  # the log refused it: nothing was started
            _answer(reply, _refused(ErrorCode.SERVICE_UNAVAILABLE, f"not recorded: {e}"))
            return
        self.runs[workflow_id] = run
        _answer(
            reply,
            Reply(
                ok=True,
                position=position,
                data={"workflow_id": workflow_id, "estimated_duration": started.estimated_duration},
            ),
        )
        run.task = asyncio.ensure_future(self._run(run))

    async def _cancel(self, command: CancelWorkflow, reply: ReplyFn | None) -> None:
        run = self.runs.get(command.workflow_id)
        if run is None or run.state.status != "running":
            code = ErrorCode.CONFLICT if run is not None else ErrorCode.NOT_FOUND
            _answer(reply, _refused(code, f"workflow {command.workflow_id!r} is not running"))
            return
        if run.task is not None:
            run.task.cancel()
            await asyncio.gather(run.task, return_exceptions=True)
        position = await self._append(
            run,
            [WorkflowCancelled(workflow_id=run.state.workflow_id, reason=command.reason)],
            command.meta,
        )
        for task_id in sorted(run.children):
            row = await self.read_task(task_id)
            if row is None or row["status"] not in FINISHED:
                await self._ask(
                    CANCEL_TASK, CancelTask(task_id=task_id, reason="workflow cancelled")
                )
        _answer(
            reply, Reply(ok=True, position=position, data={"workflow_id": run.state.workflow_id})
        )

    async def _approve(self, command: ApproveWorkflow, reply: ReplyFn | None) -> None:
        run = self.runs.get(command.workflow_id) or await self._read_run(command.workflow_id)
        if run is None:
            _answer(reply, _refused(ErrorCode.NOT_FOUND, f"{command.workflow_id!r} not found"))
            return
        definition = run.definition
        if definition.approve is None or run.state.status != "completed":
            _answer(reply, _refused(ErrorCode.CONFLICT, f"{command.workflow_id} is"
                    f" {run.state.status}; only a completed run of a type with"
                    " something to approve can be approved"))  # fmt: skip
            return
        meta = Meta(actor="workflow-engine", api_key_id=command.meta.api_key_id)
        context = Context(self, run, definition.approve_step, meta)
        try:
            output = await definition.approve(context, run.params, command.items)
        except (ValueError, StepError) as e:
            _answer(reply, _refused(ErrorCode.INVALID_PARAMETER, str(e)))
            return
        approved = WorkflowApproved(
            workflow_id=run.state.workflow_id, items=command.items, output=output
        )
        position = await self._append(run, [approved], command.meta)
        _answer(reply, Reply(ok=True, position=position, data=output))

    async def _read_run(self, workflow_id: str) -> Run | None:
        state: WorkflowState | None = None
        for event in await self.store.read_stream(f"workflow-{workflow_id}"):
            state = evolve(state, event.data)
        definition = self.definitions.get(state.workflow_type) if state else None
        if state is None or definition is None:
            return None
        params = msgspec.convert(state.parameters, definition.params, str_keys=True)
        run = Run(definition, state, params)
        self.runs[workflow_id] = run
        return run

    async def _resume_all(self) -> None:
        for workflow_id in await self.unfinished():
            state: WorkflowState | None = None
            for event in await self.store.read_stream(f"workflow-{workflow_id}"):
                state = evolve(state, event.data)
            if state is None or state.status != "running":
                continue
            definition = self.definitions.get(state.workflow_type)
            if definition is None:
                continue
            params = msgspec.convert(state.parameters, definition.params, str_keys=True)
            run = Run(definition, state, params)
            self.runs[workflow_id] = run
            log.info("resuming %s at %s", workflow_id, state.next_step())
            run.task = asyncio.ensure_future(self._run(run))

    # -- a run ---------------------------------------------------------------------------------

    async def _run(self, run: Run) -> None:
        state = run.state
        meta = Meta(actor="workflow-engine", api_key_id=state.api_key_id)
        limit = self.config.get(state.workflow_type, {}).get("timeout")
        try:
            async with asyncio.timeout(limit):
                await self._steps(run, meta)
        except TimeoutError:
            await self._append(run, [WorkflowFailed(workflow_id=state.workflow_id,
                step=state.next_step(), error=f"timeout: over {limit:g} s")], meta)  # fmt: skip

    async def _steps(self, run: Run, meta: Meta) -> None:
        state = run.state
        try:
            while (name := state.next_step()) is not None:
                step = next(s for s in run.definition.steps if s.name == name)
                if not await self._step(run, step, meta):
                    return
            result = run.definition.result(run.params, state.outputs())
            await self._append(
                run, [WorkflowCompleted(workflow_id=state.workflow_id, result=result)], meta
            )
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the engine's own failure: recorded, never silent
            log.exception("workflow %s failed", state.workflow_id)
            await self._append(
                run,
                [
                    WorkflowFailed(
                        workflow_id=state.workflow_id, step=state.next_step(), error=repr(e)
                    )
                ],
                meta,
            )

    async def _step(self, run: Run, step: Step[Any], meta: Meta) -> bool:
        """Run `step` to its output (with retries); False if the workflow failed."""
        state = run.state
        attempt = state.record(step.name).attempts + 1
        while True:
            await self._append(
                run,
                [
                    WorkflowStepStarted(
                        workflow_id=state.workflow_id,
                        step=step.name,
                        layer=step.layer,
                        attempt=attempt,
                    )
                ],
                meta,
            )
            context = Context(self, run, step.name, meta)
            began = time.perf_counter()
            try:
                output = await asyncio.wait_for(step.run(context, run.params), step.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                retry_in = step.retry.delay(attempt)
                error = f"{type(e).__name__}: {e}"
                await self._append(
                    run,
                    [
                        WorkflowStepFailed(
                            workflow_id=state.workflow_id,
                            step=step.name,
                            layer=step.layer,
                            attempt=attempt,
                            error=error,
                            retry_in=retry_in,
                        )
                    ],
                    meta,
                )
                if retry_in is None:
                    await self._append(
                        run,
                        [
                            WorkflowFailed(
                                workflow_id=state.workflow_id, step=step.name, error=error
                            )
                        ],
                        meta,
                    )
                    return False
                await asyncio.sleep(retry_in)
                attempt += 1
                continue
            took = time.perf_counter() - began
            await self._append(
                run,
                [
                    WorkflowStepCompleted(
                        workflow_id=state.workflow_id,
                        step=step.name,
                        layer=step.layer,
                        output=msgspec.to_builtins(output),
                        duration_ms=round(took * 1000, 3),
                        engine_ms=round(max(0.0, took - context.waited) * 1000, 3),
                    )
                ],
                meta,
            )
            return True

    async def _append(self, run: Run, events: list[EventData], meta: Meta) -> int:
        """Append to the run's stream at its version (the run is its only writer)."""
        async with run.lock:
            state = run.state
            result = await self.store.append(
                f"workflow-{state.workflow_id}", state.version, events, meta
            )
            for event in events:
                evolve(state, event)
            state.version = result.version
            return result.last_position

    async def _ask(self, subject: str, command: msgspec.Struct, timeout: float = 5.0) -> Reply:
        try:
            return await self.request(subject, command, timeout)
        except BusUnavailable as e:
            raise StepError(f"{subject}: {e.reason}") from None


class Context(StepContext):
    """What a running step may do; every outside effect goes through here."""

    def __init__(self, engine: WorkflowEngine, run: Run, step: str, meta: Meta) -> None:
        self.engine = engine
        self.run = run
        self.workflow_id = run.state.workflow_id
        self.step = step
        self.meta = meta
        self.scopes = engine.scopes
        self.resources = engine.resources
        self.waited = 0.0
        """Seconds spent waiting on agents and providers (not the engine's own time)."""

    def output(self, step: str, kind: type[Any]) -> Any:
        return msgspec.convert(self.run.state.records[step].output, kind)

    async def tasks(self, specs: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        engine = self.engine
        ids = [f"{self.workflow_id}-{self.step}-{n}" for n in range(len(specs))]
        self.run.children.update(ids)
        began = time.perf_counter()
        wait = _Wait(set(ids), asyncio.get_running_loop().create_future())
        engine.me.tell(wait)
        for task_id, (task_type, parameters) in zip(ids, specs, strict=True):
            digest = hashlib.sha256(msgspec.json.encode([task_type, parameters])).hexdigest()
            reply = await engine._ask(
                SUBMIT_TASK,
                SubmitTask(
                    task_type=task_type,
                    parameters=parameters,
                    task_id=task_id,
                    request_hash=digest,
                    meta=self.meta,
                ),
            )
            if not reply.ok:
                raise StepError(f"{task_type} refused: {reply.message}")
        for task_id in ids:  # ended before the wait was registered
            row = await engine.read_task(task_id)
            if row is not None and row["status"] in FINISHED:
                engine.me.tell(TaskEnded(task_id, int(row["position"])))
        position = await wait.done
        await engine.wait_for(position, 30.0, "tasks")
        rows = [await engine.read_task(task_id) for task_id in ids]
        self.waited += time.perf_counter() - began
        return [row for row in rows if row is not None]

    async def ask(
        self, key: str, messages: list[dict[str, str]], providers: list[str] | None = None
    ) -> Answer:
        recorded = self.run.state.answers.get(f"{self.step}:{key}")
        if recorded is None:
            recorded = await self._ask_router(key, messages, providers)
        return Answer(
            provider=recorded.provider,
            model=recorded.model,
            content=recorded.content,
            error=recorded.error,
        )

    async def _ask_router(
        self, key: str, messages: list[dict[str, str]], providers: list[str] | None
    ) -> WorkflowAnswered:
        began = time.perf_counter()
        command = Complete(
            messages=[ChatMessage(m["role"], m["content"]) for m in messages],  # type: ignore[arg-type]
            providers=providers,
            meta=self.meta,
        )
        reply = await self.engine._ask(COMPLETE, command, self.engine.ai_timeout)
        self.waited += time.perf_counter() - began
        attempts = list((reply.data if reply.ok else reply.details or {}).get("attempts", []))
        answered = WorkflowAnswered(
            workflow_id=self.workflow_id,
            step=self.step,
            key=key,
            provider=reply.data.get("provider") if reply.ok else None,
            model=reply.data.get("model") if reply.ok else None,
            content=reply.data.get("content", "") if reply.ok else "",
            attempts=attempts,
            error=None if reply.ok else f"{reply.code}: {reply.message}",
        )
        events: list[EventData] = [answered]
        layer = self.run.definition.layer_of(self.step)
        for attempt in attempts:
            if attempt.get("outcome") not in ("ok", "skipped"):
                events.append(
                    WorkflowLogged(
                        workflow_id=self.workflow_id,
                        level="warning",
                        layer=layer,
                        message=f"Provider {attempt['provider']} {attempt['outcome']},"
                        " switching to the next",
                    )
                )
        await self.engine._append(self.run, events, self.meta)
        return answered

    async def history(self, step: str, limit: int = 20) -> list[dict[str, Any]]:
        if self.engine.history is None:
            return []
        return await self.engine.history(self.run.state.workflow_type, step, limit)

    async def log(self, level: str, message: str) -> None:
        layer = self.run.definition.layer_of(self.step)
        event = WorkflowLogged(
            workflow_id=self.workflow_id, level=level, message=message, layer=layer
        )
        await self.engine._append(self.run, [event], self.meta)


def _answer(reply: ReplyFn | None, answer: Reply) -> None:
    if reply is not None:
        reply(answer)


def _refused(code: ErrorCode, message: str) -> Reply:
    return Reply(ok=False, code=code, message=message)
