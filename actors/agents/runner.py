"""Runs agents' work on the event loop: claim, run the skill under a timeout, report.

Every step goes through the task manager over NATS (`amas.cmd.task.*`), so the log
decides: a claim that loses (the task was cancelled, or another agent has it) runs
nothing; a report for a task that is no longer ours is refused and dropped.

A claim or a result that cannot reach the task manager (the broker is restarting) is
asked again until it gets an answer: the task manager grants a repeated claim and
refuses a repeated report, so asking twice never does a thing twice. Progress reports
are sent without asking and may be dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec

from actors.agents.messages import Finished
from actors.agents.scope import Scopes
from actors.agents.skills import SKILLS
from actors.agents.skills.base import Skill, TaskReader
from actors.agents.skills.inputs import cache_key
from events import tracing
from events.commands import (
    START_TASK,
    BusUnavailable,
    CompleteTask,
    FailTask,
    Reply,
    ReportProgress,
    StartTask,
    Work,
    command_encoder,
)
from events.vocabulary import ErrorCode

log = logging.getLogger(__name__)

_RETRY_FIRST, _RETRY_MAX = 0.2, 2.0

Request = Callable[[str, msgspec.Struct], Awaitable[Reply]]
Publish = Callable[[str, bytes], Awaitable[None]]
CacheLookup = Callable[[str], Awaitable[tuple[str, dict[str, Any]] | None]]
"""A result cache key -> (the task that computed it, its result), or None."""


async def _no_cache(key: str) -> tuple[str, dict[str, Any]] | None:
    return None


class _Mailbox(Protocol):
    def tell(self, message: Any) -> None: ...


class WorkRunner:
    def __init__(
        self,
        request: Request,
        publish: Publish,
        report_subject: str,
        scopes: Scopes,
        read_task: TaskReader,
    ) -> None:
        self.request = request
        self.scopes = scopes
        self.read_task = read_task
        self.publish = publish
        self.report_subject = report_subject
        self.running: dict[str, tuple[str, asyncio.Task[None]]] = {}
        self.caching: set[str] = set()
        """Task types whose results may come from the result cache (cache.configured)."""
        self.cached: CacheLookup = _no_cache

    async def run(
        self,
        work: Work,
        timeout: float,
        agent: _Mailbox,
        trace: str | None = None,
        agent_type: str = "",
        slowdown: float = 1.0,
    ) -> None:
        """The work on one hand-out, as a span in the trace it came with (`trace`)."""
        task = asyncio.current_task()
        assert task is not None
        self.running[work.task_id] = (work.agent_id, task)
        try:
            with tracing.span(
                f"work {agent_type}",
                parent=trace,
                kind=tracing.CONSUMER,
                attributes={"amas.agent_id": work.agent_id, "amas.attempt": work.attempt},
                task_id=work.task_id,
            ):
                await self._run(work, timeout, slowdown)
        except asyncio.CancelledError:
            log.info("work on %s stopped", work.task_id)
        finally:
            self.running.pop(work.task_id, None)
            agent.tell(Finished(work.task_id))

    async def _run(self, work: Work, timeout: float, slowdown: float = 1.0) -> None:
        trace = tracing.current()  # each command carries it, sampled or not (events/tracing.py)
        claim = await self._ask(
            START_TASK,
            StartTask(
                task_id=work.task_id,
                agent_id=work.agent_id,
                attempt=work.attempt,
                trace=trace,
                decision=work.decision,
            ),
        )
        if not claim.ok:
            log.info("claim of %s refused: %s", work.task_id, claim.message)
            return
        task_type, parameters = claim.data["task_type"], claim.data["parameters"]
        skill = SKILLS.get(task_type)
        task_id, agent_id, attempt = work.task_id, work.agent_id, work.attempt

        async def progress(percent: int, message: str = "") -> None:
            # Sent, not asked: a lost progress report costs nothing, and the skill need not
            # wait a round trip per step. NATS keeps one connection's messages in order, so
            # it still reaches the task manager before the completion that follows it.
            try:
                await self.publish(
                    self.report_subject,
                    command_encoder.encode(
                        ReportProgress(
                            task_id=task_id,
                            agent_id=agent_id,
                            attempt=attempt,
                            progress=percent,
                            message=message,
                            trace=trace,
                        )
                    ),
                )
            except Exception as e:  # the broker is away; the result will still be asked for
                log.debug("progress of %s dropped: %r", task_id, e)

        def failed(reason: str, error: str) -> FailTask:
            return FailTask(
                task_id=task_id,
                agent_id=agent_id,
                attempt=attempt,
                reason=reason,
                error=error,
                trace=trace,
            )

        if skill is None:
            await self._report(failed("error", f"no skill for {task_type}"))
            return
        cache_key = await self._cache_key(skill, task_type, parameters)
        if cache_key is not None:
            hit = await self.cached(cache_key)
            if hit is not None:
                await self._report(
                    CompleteTask(
                        task_id=task_id,
                        agent_id=agent_id,
                        attempt=attempt,
                        result=hit[1],
                        cache_key=cache_key,
                        cached_from=hit[0],
                        trace=trace,
                    )
                )
                return
        try:
            async with asyncio.timeout(timeout):
                began = time.monotonic()
                result = await skill(parameters, progress, self.scopes, self.read_task)
                if slowdown > 1:  # a test setting (AMAS_AGENT_SLOWDOWN): this agent is slower
                    await asyncio.sleep((time.monotonic() - began) * (slowdown - 1))
        except TimeoutError:
            await self._report(failed("timeout", f"no result within {timeout:g} s"))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the skill failed: that is the task's result, not ours
            await self._report(failed("error", f"{type(e).__name__}: {e}"))
        else:
            await self._report(
                CompleteTask(
                    task_id=task_id,
                    agent_id=agent_id,
                    attempt=attempt,
                    result=result,
                    cache_key=cache_key,
                    trace=trace,
                )
            )

    async def _cache_key(
        self, skill: Skill[Any], task_type: str, parameters: dict[str, Any]
    ) -> str | None:
        """The result cache's key for this run, if caching is on for its type and the
        skill's result depends only on its inputs; None otherwise (or if they cannot be
        read: the skill will say why)."""
        if task_type not in self.caching or skill.inputs is None:
            return None
        fingerprint = skill.inputs
        try:
            params = skill.validate(parameters, self.scopes)
            inputs = await asyncio.to_thread(fingerprint, params, self.scopes)
        except Exception as e:
            log.info("no cache key for a %s task: %r", task_type, e)
            return None
        return cache_key(task_type, parameters, inputs)

    async def _report(self, report: msgspec.Struct) -> None:
        reply = await self._ask(self.report_subject, report)
        if not reply.ok:
            log.info("report refused: %s", reply.message)

    async def _ask(self, subject: str, command: msgspec.Struct) -> Reply:
        """The task manager's answer, however long the bus takes to carry it."""
        delay = _RETRY_FIRST
        while True:
            try:
                reply = await self.request(subject, command)
            except BusUnavailable as e:
                log.info("%s: %s; asking again in %.1f s", subject, e.reason, delay)
            else:
                if reply.code != ErrorCode.SERVICE_UNAVAILABLE:
                    return reply
                log.info("%s: %s; asking again in %.1f s", subject, reply.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)

    def cancel(self, task_id: str) -> None:
        entry = self.running.get(task_id)
        if entry is not None:
            entry[1].cancel()

    def cancel_agent(self, agent_id: str) -> None:
        for owner, task in list(self.running.values()):
            if owner == agent_id:
                task.cancel()
