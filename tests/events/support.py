"""Helpers shared by the event log's tests (fixtures are in conftest.py)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from events.envelope import EventData, EventRegistry, Meta, registry
from events.store import ANY_VERSION, NO_STREAM, EventStore, SQLiteEventStore
from events.types import (
    AgentConfigured,
    AgentErrored,
    AgentStarted,
    SystemAlerted,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)

WAIT = 3.0
"""Upper bound for one awaited step (a commit, a close): a guard against hangs, never a
measure of speed."""
LOG_TASKS = 12
"""Task lifecycles in the `written` fixture's log."""

OpenStore = Callable[..., Awaitable[SQLiteEventStore]]


async def close_store(store: SQLiteEventStore) -> None:
    """Close `store`. If close fails, still close its connections: aiosqlite's threads are
    not daemons, so a connection left open keeps pytest from exiting."""
    try:
        async with asyncio.timeout(WAIT):
            await store.close()
    except BaseException:
        for db in (store._writer_db, store._reader_db):
            if db is not None:
                with contextlib.suppress(Exception):
                    await db.close()
        raise


def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read with a raw sqlite3 connection of its own, not through the store."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(sql, params).fetchall()


def execute(path: Path, *statements: str | tuple[str, tuple[Any, ...]]) -> None:
    """Run statements on a raw autocommit connection, as a tamperer with file access would."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, ())
            db.execute(sql, params)


def dump_table(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of a projection table, in key order."""
    key = {"tasks": "task_id", "agents": "agent_id", "ratios": "task_id"}[table]
    return query(path, f"SELECT * FROM {table} ORDER BY {key}")


def task_lifecycles(tasks: int, seed: int) -> list[tuple[str, list[EventData]]]:
    """(stream, events) for `tasks` tasks, each ending one of the ways a task can end."""
    rng = random.Random(seed)
    agents = [f"agent-{n}" for n in range(4)]
    lifecycles: list[tuple[str, list[EventData]]] = []
    for n in range(tasks):
        task_id = f"t{n:04d}"
        agent = rng.choice(agents)
        created = TaskCreated(
            task_id=task_id,
            task_type=rng.choice(["summarise", "translate", "classify"]),
            parameters={"n": n, "text": f"input {n}", "ratio": n / 7},
            priority=rng.choice(["low", "normal", "high", "critical"]),
            callback_url=f"https://example.test/cb/{n}" if n % 3 == 0 else None,
            assigned_agents=[agent] if n % 2 else [],
        )
        started = TaskStarted(task_id=task_id, agent_id=agent)
        progress = [
            TaskProgressed(task_id=task_id, agent_id=agent, progress=p, message=f"{p}%")
            for p in sorted(rng.sample(range(5, 100, 5), rng.randint(0, 3)))
        ]
        match n % 7:
            case 0 | 1 | 2:
                done: list[EventData] = [
                    started,
                    *progress,
                    TaskCompleted(
                        task_id=task_id, agent_id=agent, result={"answer": n, "ok": True}
                    ),
                ]
            case 3:
                done = [
                    started,
                    *progress,
                    TaskFailed(task_id=task_id, agent_id=agent, reason="agent error", error="boom"),
                ]
            case 4:
                done = [TaskFailed(task_id=task_id, reason="no agent available")]
            case 5:
                done = [started, *progress, TaskCancelled(task_id=task_id, agent_id=agent)]
            case _:
                other = rng.choice([a for a in agents if a != agent])
                done = [
                    started,
                    *progress,
                    TaskRequeued(task_id=task_id, attempt=1, reason="timeout", agent_id=agent),
                    TaskStarted(task_id=task_id, agent_id=other, attempt=2),
                    TaskCompleted(task_id=task_id, agent_id=other, result={"answer": -n}),
                ]
        lifecycles.append((f"task-{task_id}", [created, *done]))
    return lifecycles


async def append_task_mix(store: SQLiteEventStore, tasks: int = 40, seed: int = 7) -> int:
    """Append the lifecycles of `tasks` tasks, interleaved, with agent and system events
    between them, one event per append and several appends in flight at once, so the
    log has many commits of mixed sizes. Returns the head."""
    rng = random.Random(seed)
    for n in range(4):
        await store.append(
            f"agent-agent-{n}",
            NO_STREAM,
            [
                AgentStarted(
                    agent_id=f"agent-{n}", agent_type="llm", name=f"Agent {n}", timeout=30.0 + n
                )
            ],
        )
    queues = [(stream, list(evs)) for stream, evs in task_lifecycles(tasks, seed)]
    versions = {stream: 0 for stream, _ in queues}
    while queues:
        wave = rng.sample(queues, min(len(queues), rng.randint(1, 6)))
        appends = []
        for stream, pending in wave:
            taken = [pending.pop(0) for _ in range(min(len(pending), rng.choice([1, 1, 2])))]
            meta = Meta(correlation_id=f"corr-{stream}", actor="test")
            appends.append(store.append(stream, versions[stream], taken, meta))
            versions[stream] += len(taken)
        if rng.random() < 0.2:
            n = rng.randrange(4)
            appends.append(
                store.append(
                    f"agent-agent-{n}",
                    ANY_VERSION,
                    [
                        rng.choice(
                            [
                                AgentConfigured(
                                    agent_id=f"agent-{n}",
                                    timeout=60.0,
                                    max_concurrent_tasks=2,
                                    priority="high",
                                ),
                                AgentErrored(
                                    agent_id=f"agent-{n}", agent_type="llm", error="flaky"
                                ),
                            ]
                        )
                    ],
                )
            )
        if rng.random() < 0.1:
            appends.append(
                store.append(
                    "system",
                    ANY_VERSION,
                    [SystemAlerted(level="info", code="tick", message="still here")],
                )
            )
        async with asyncio.timeout(WAIT):
            await asyncio.gather(*appends)
        queues = [(stream, pending) for stream, pending in queues if pending]
    return store.head


class StoreUnderTest(abc.ABC):
    """How a backend's test class opens and closes its store."""

    @abc.abstractmethod
    async def open_store(self, tmp_path: Path, event_registry: EventRegistry) -> EventStore:
        """A new, empty store holding its data under tmp_path."""

    @abc.abstractmethod
    async def close_store(self, store: EventStore) -> None: ...

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[EventStore]:
        store = await self.open_store(tmp_path, registry)
        try:
            yield store
        finally:
            await self.close_store(store)
