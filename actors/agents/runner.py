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
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec

from actors.agents.messages import Finished
from actors.agents.scope import Scopes
from actors.agents.skills import SKILLS
from actors.agents.skills.base import TaskReader
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

    async def run(
        self,
        work: Work,
        timeout: float,
        agent: _Mailbox,
        trace: str | None = None,
        agent_type: str = "",
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
                await self._run(work, timeout)
        except asyncio.CancelledError:
            log.info("work on %s stopped", work.task_id)
        finally:
            self.running.pop(work.task_id, None)
            agent.tell(Finished(work.task_id))

    async def _run(self, work: Work, timeout: float) -> None:
        trace = tracing.current()  # each command carries it, sampled or not (events/tracing.py)
        claim = await self._ask(
            START_TASK,
            StartTask(
                task_id=work.task_id, agent_id=work.agent_id, attempt=work.attempt, trace=trace
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
        try:
            async with asyncio.timeout(timeout):
                result = await skill(parameters, progress, self.scopes, self.read_task)
        except TimeoutError:
            await self._report(failed("timeout", f"no result within {timeout:g} s"))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the skill failed: that is the task's result, not ours
            await self._report(failed("error", f"{type(e).__name__}: {e}"))
        else:
            await self._report(
                CompleteTask(
                    task_id=task_id, agent_id=agent_id, attempt=attempt, result=result, trace=trace
                )
            )

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
