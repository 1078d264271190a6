"""The node's workflows: the engine actor, supervised, and what it learns from the log.

The engine waits for child tasks on the log itself: this follows the committed events
from where the node started and tells the engine of every task that ended, so a broker
outage cannot make a workflow miss one (the same rule as the scheduler's feed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import httpx

from actors.agents.scope import Scopes
from actors.io import Incoming, LoopBridge
from actors.providers.catalog import Secret
from actors.supervision import Child, Supervisor
from actors.workflows.engine import Request, TaskEnded, WaitFor, WorkflowEngine
from actors.workflows.issue_responder.github import GitHubClient
from actors.workflows.steps import WorkflowDef
from events.commands import Command, ReplyFn
from events.queries import tasks as task_queries
from events.queries import workflows as queries
from events.store.base import EventStore

log = logging.getLogger(__name__)

_ENDS = frozenset({"task.completed", "task.failed", "task.cancelled"})


@dataclass(frozen=True)
class GitHubSettings:
    repo: str
    """owner/name (AMAS_GITHUB_REPO)."""
    token: Secret | None = field(repr=False, default=None)
    """GITHUB_TOKEN: reading public issues needs none; writing does."""
    api_url: str = "https://api.github.com"


class Workflows:
    def __init__(
        self,
        store: EventStore,
        request: Request,
        definitions: Mapping[str, WorkflowDef[Any]],
        scopes: Scopes,
        reader: aiosqlite.Connection,
        wait_for: WaitFor,
        ai_timeout: float,
        github: GitHubSettings | None = None,
    ) -> None:
        self.store = store
        self.request = request
        self.definitions = definitions
        self.scopes = scopes
        self.reader = reader
        self.wait_for = wait_for
        self.ai_timeout = ai_timeout
        self.github = github
        self.http: httpx.AsyncClient | None = None
        self.engine: Child
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.bridge = bridge = LoopBridge(asyncio.get_running_loop())
        self.supervisor = sup = Supervisor(bridge)
        follow_from = self.store.head + 1
        resources: dict[str, Any] = {}
        if self.github is not None:
            self.http = httpx.AsyncClient(trust_env=False, timeout=30.0)
            token = self.github.token.reveal() if self.github.token else None
            resources["github"] = GitHubClient(
                self.http, self.github.repo, token, self.github.api_url
            )
        self.engine = sup.start(
            "workflow-engine",
            lambda: WorkflowEngine.start(
                sup,
                "workflow-engine",
                bridge,
                self.store,
                self.request,
                self.definitions,
                self.scopes,
                self._read_task,
                self.wait_for,
                self._unfinished,
                self._estimate,
                self.ai_timeout,
                self._history,
                resources,
                self._config,
            ),
        )
        self._follower = asyncio.create_task(self._follow(follow_from), name="workflow-follow")

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        if hasattr(self, "supervisor"):
            await asyncio.to_thread(self.supervisor.stop_all)
            await self.bridge.drain(timeout=2.0)
        if self.http is not None:
            await self.http.aclose()

    def command(self, command: Command, reply: ReplyFn) -> None:
        self.engine.tell(Incoming(command, reply))

    def alive(self) -> bool:
        return self.engine.alive()

    async def _follow(self, from_position: int) -> None:
        async for batch in self.store.subscribe_batches(from_position):
            for event in batch:
                if event.type in _ENDS:
                    self.engine.tell(TaskEnded(event.data.task_id, event.position))

    async def _read_task(self, task_id: str) -> dict[str, Any] | None:
        return await task_queries.get_task(self.reader, task_id)

    async def _unfinished(self) -> list[str]:
        return await queries.unfinished_workflows(self.reader)

    async def _config(self) -> dict[str, dict[str, Any]]:
        return await queries.configuration(self.reader)

    async def _history(self, workflow_type: str, step: str, limit: int) -> list[dict[str, Any]]:
        return await queries.step_outputs(self.reader, workflow_type, step, limit)

    async def _estimate(self, workflow_type: str) -> float | None:
        return await queries.median_duration(self.reader, workflow_type)
