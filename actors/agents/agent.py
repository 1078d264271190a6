"""An agent actor: its configuration, the tasks it holds, and nothing that blocks.

The work itself runs on the event loop (actors/agents/runner.py); the actor keeps
the books: which tasks it holds, with which timeout, and its configuration.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.agents.catalog import AgentSpec
from actors.agents.messages import Assign, Finished, Reconfigure
from actors.agents.runner import WorkRunner
from actors.io import Incoming, LoopBridge, ReplyFn
from actors.supervision import SupervisedActor, Supervisor
from events.commands import ConfigureAgent, Reply
from events.envelope import Meta
from events.errors import EventsError
from events.store.base import ANY_VERSION, EventStore
from events.types import AgentConfigured
from events.vocabulary import ErrorCode


class Agent(SupervisedActor):
    def __init__(
        self,
        supervisor: Supervisor,
        spec: AgentSpec,
        bridge: LoopBridge,
        runner: WorkRunner,
        store: EventStore,
    ) -> None:
        super().__init__(supervisor, spec.agent_id)
        self.spec = spec
        self.bridge = bridge
        self.runner = runner
        self.store = store
        self.held: dict[str, int] = {}

    def on_receive(self, message: Any) -> Any:
        match message:
            case Assign(work=work, trace=trace):
                if work.task_id in self.held:
                    return  # a redelivered hand-out
                self.held[work.task_id] = work.attempt
                self.bridge.spawn(
                    self.runner.run(
                        work,
                        self.spec.timeout,
                        self.me,
                        trace,
                        self.spec.agent_type,
                        self.spec.slowdown,
                    )
                )
            case Finished(task_id=task_id):
                self.held.pop(task_id, None)
            case Incoming(command=ConfigureAgent() as command, reply=reply):
                self._configure(command, reply)
            case Reconfigure() as change:
                self.spec = msgspec.structs.replace(
                    self.spec,
                    **{k: v for k, v in msgspec.structs.asdict(change).items() if v is not None},
                )
            case _:
                raise TypeError(f"agent {self.spec.agent_id} got an unknown message: {message!r}")

    def _configure(self, command: ConfigureAgent, reply: ReplyFn | None) -> None:
        spec = self.spec
        event = AgentConfigured(
            agent_id=spec.agent_id,
            timeout=command.timeout if command.timeout is not None else spec.timeout,
            max_concurrent_tasks=(
                command.max_concurrent_tasks
                if command.max_concurrent_tasks is not None
                else spec.max_concurrent_tasks
            ),
            priority=command.priority if command.priority is not None else spec.priority,
        )
        # The change takes effect when agent.configured comes back from the log (Reconfigure),
        # the same way for this agent and for the scheduler.
        self.bridge.spawn(self._append_configured(event, command.meta, reply))

    async def _append_configured(
        self, event: AgentConfigured, meta: Meta, reply: ReplyFn | None
    ) -> None:
        try:
            result = await self.store.append(f"agent-{event.agent_id}", ANY_VERSION, [event], meta)
        except EventsError as e:
            if reply is not None:
                reply(Reply(ok=False, code=ErrorCode.SERVICE_UNAVAILABLE, message=str(e)))
            return
        if reply is not None:
            reply(Reply(ok=True, position=result.last_position, data=msgspec.structs.asdict(event)))
