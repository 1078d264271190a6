"""The log drives the scheduler and the agents: a committed event, not a NATS message,
tells them that a task was queued, claimed or ended, or that an agent was reconfigured.
So a broker outage cannot make them miss anything that happened."""

from __future__ import annotations

import asyncio
import logging

from actors.agents.messages import Reconfigure
from actors.fleet import CATCH_UP_TIMEOUT, Fleet
from actors.scheduler import Configure, Ended, Learn, Queued, Started, Tick
from events import tracing
from events.envelope import Event
from events.learning import FOLDED as LEARNED_FROM
from events.queries.tasks import type_and_priority

log = logging.getLogger(__name__)

FOLLOWED = frozenset(
    {
        "task.created",
        "task.requeued",
        "task.started",
        "task.completed",
        "task.failed",
        "task.cancelled",
        "agent.configured",
        "cache.configured",
    }
)

TICK = 1.0
"""How often the scheduler looks for hand-outs no agent claimed."""


async def follow_log(fleet: Fleet, from_position: int) -> None:
    """Tell the fleet what each committed event means for it, from `from_position` on."""
    async for batch in fleet.store.subscribe_batches(from_position):
        if fleet.learns:
            learned = tuple(e for e in batch if e.type in LEARNED_FROM)
            if learned:
                fleet.scheduler.tell(Learn(learned))
        for event in batch:
            if event.type in FOLLOWED:
                try:
                    await _on_committed(fleet, event)
                except Exception:
                    log.exception("could not act on %s at %d", event.type, event.position)


async def tick(fleet: Fleet) -> None:
    while True:
        await asyncio.sleep(TICK)
        fleet.scheduler.tell(Tick())


async def _on_committed(fleet: Fleet, event: Event) -> None:
    data = event.data
    match event.type:
        case "task.created" if not data.parts:  # a composite's parts are queued, not it
            fleet.scheduler.tell(
                Queued(
                    task_id=data.task_id,
                    task_type=data.task_type,
                    priority=data.priority,
                    attempt=1,
                    trace=tracing.trace_of(event.meta),
                )
            )
        case "task.requeued":
            await fleet.wait_for(event.position, CATCH_UP_TIMEOUT, "tasks")
            row = await type_and_priority(fleet.reader, data.task_id)
            if row is not None:
                fleet.scheduler.tell(
                    Queued(
                        task_id=data.task_id,
                        task_type=row[0],
                        priority=row[1],
                        attempt=data.attempt + 1,
                        trace=tracing.trace_of(event.meta),
                    )
                )
        case "task.started":
            fleet.scheduler.tell(Started(data.task_id, data.attempt))
        case "cache.configured":
            if data.enabled:
                fleet.runner.caching.add(data.task_type)
            else:
                fleet.runner.caching.discard(data.task_type)
        case "task.completed" | "task.failed" | "task.cancelled":
            fleet.scheduler.tell(Ended(data.task_id))
        case "agent.configured":
            fleet.reconfigure(
                data.agent_id,
                timeout=data.timeout,
                max_concurrent_tasks=data.max_concurrent_tasks,
                priority=data.priority,
            )
            fleet.scheduler.tell(
                Configure(
                    agent_id=data.agent_id,
                    max_concurrent_tasks=data.max_concurrent_tasks,
                    priority=data.priority,
                )
            )
            agent = fleet.agents.get(data.agent_id)
            if agent is not None:
                agent.tell(
                    Reconfigure(
                        timeout=data.timeout,
                        max_concurrent_tasks=data.max_concurrent_tasks,
                        priority=data.priority,
                    )
                )
