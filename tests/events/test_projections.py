"""Projections: the runner follows the log live, rebuilds give the same rows, checkpoints
survive restarts, and wait_for gives read-your-writes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from events.envelope import Event
from events.errors import ProjectionTimeoutError
from events.projections import (
    AgentsProjection,
    Projection,
    ProjectionRunner,
    RowProjection,
    TasksProjection,
)
from events.projections.base import Row
from events.store import ANY_VERSION, NO_STREAM, SQLiteEventStore
from events.types import (
    AgentConfigured,
    SystemAlerted,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskProgressed,
    TaskRequeued,
    TaskStarted,
)

from .support import WAIT, OpenStore, append_task_mix, dump_table, execute, query

TASK_TYPES = TasksProjection.event_types or frozenset()


class CountingTasks(TasksProjection):
    """TasksProjection that counts the events it is handed."""

    def __init__(self) -> None:
        self.applied: list[int] = []

    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        self.applied.extend(e.position for e in events)
        super().apply(db, events)


class TasksV2(TasksProjection):
    version: ClassVar[int] = TasksProjection.version + 1


class Broken(Projection):
    name: ClassVar[str] = "broken"
    tables: ClassVar[tuple[str, ...]] = ("broken",)

    def __init__(self) -> None:
        self.called = threading.Event()  # set on the database's thread

    def schema(self) -> str:
        return "CREATE TABLE IF NOT EXISTS broken (x INTEGER);"

    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        self.called.set()
        raise RuntimeError("this projection has a bug")


async def open_runner(
    store: SQLiteEventStore, path: Path, *projections: Projection
) -> ProjectionRunner:
    return await ProjectionRunner.open(store, path, list(projections) or [TasksProjection()])


async def close_runner(runner: ProjectionRunner) -> None:
    async with asyncio.timeout(WAIT):
        await runner.close()


def checkpoint(path: Path, name: str = "tasks") -> int:
    [(position,)] = query(
        path, "SELECT position FROM projection_checkpoints WHERE name = ?", (name,)
    )
    return int(position)


def task_rows(path: Path) -> dict[str, dict[str, Any]]:
    columns = TasksProjection.columns
    rows = query(path, f"SELECT {', '.join(columns)} FROM tasks")
    decoded = {}
    for values in rows:
        row = dict(zip(columns, values, strict=True))
        for column in TasksProjection.json_columns:
            row[column] = json.loads(row[column]) if row[column] is not None else None
        decoded[row["task_id"]] = row
    return decoded


async def task_events_upto(store: SQLiteEventStore, head: int, after: int = 0) -> list[int]:
    return [
        e.position for e in await store.read_all(after + 1, head - after) if e.type in TASK_TYPES
    ]


# -- following live -------------------------------------------------------------------


async def test_each_task_lifecycle_folds_into_its_row(
    store: SQLiteEventStore, runner: ProjectionRunner, projections_db: Path
) -> None:
    runner.start()
    lifecycles: dict[str, list[Any]] = {
        "done": [
            TaskStarted(task_id="done", agent_id="a1"),
            TaskProgressed(task_id="done", agent_id="a1", progress=40),
            TaskCompleted(task_id="done", agent_id="a1", result={"answer": 42}),
        ],
        "broke": [
            TaskStarted(task_id="broke", agent_id="a1"),
            TaskProgressed(task_id="broke", agent_id="a1", progress=30),
            TaskFailed(task_id="broke", agent_id="a1", reason="agent error", error="boom"),
        ],
        "unplaced": [TaskFailed(task_id="unplaced", reason="no agent")],
        "stopped": [
            TaskStarted(task_id="stopped", agent_id="a2"),
            TaskCancelled(task_id="stopped", reason="user", agent_id="a2"),
        ],
        "retried": [
            TaskStarted(task_id="retried", agent_id="a1"),
            TaskRequeued(task_id="retried", attempt=1, reason="timeout", agent_id="a1"),
            TaskStarted(task_id="retried", agent_id="a2", attempt=2),
            TaskCompleted(task_id="retried", agent_id="a2", result={}),
        ],
        "waiting": [],
    }
    for task_id, rest in lifecycles.items():
        create = TaskCreated(
            task_id=task_id,
            task_type="echo",
            parameters={"id": task_id},
            priority="high",
            max_attempts=4,
        )
        await store.append(f"task-{task_id}", NO_STREAM, [create])
        for version, event in enumerate(rest, start=1):
            await store.append(f"task-{task_id}", version, [event])

    await runner.wait_for(store.head)
    rows = task_rows(projections_db)

    assert set(rows) == set(lifecycles)
    done = rows["done"]
    assert (
        done["status"],
        done["progress"],
        done["result"],
        done["agent_id"],
        done["attempt"],
    ) == ("completed", 100, {"answer": 42}, "a1", 1)
    assert done["agents"] == {"a1": {"status": "completed", "progress": 100}}
    assert done["started_at"] and done["completed_at"] and not done["cancelled_at"]
    assert (done["version"], done["position"]) == (
        4,
        max(e.position for e in await store.read_stream("task-done")),
    )
    broke = rows["broke"]
    assert (broke["status"], broke["reason"], broke["error"]) == ("failed", "agent error", "boom")
    assert broke["agents"] == {"a1": {"status": "failed", "progress": 30}}
    assert (rows["unplaced"]["status"], rows["unplaced"]["agents"]) == ("failed", {})
    stopped = rows["stopped"]
    assert (stopped["status"], stopped["reason"]) == ("cancelled", "user")
    assert stopped["agents"] == {"a2": {"status": "cancelled", "progress": 0}}
    assert stopped["cancelled_at"]
    retried = rows["retried"]
    assert (retried["status"], retried["attempt"], retried["agent_id"]) == ("completed", 2, "a2")
    assert retried["agents"] == {
        "a1": {"status": "abandoned", "progress": 0},
        "a2": {"status": "completed", "progress": 100},
    }
    waiting = rows["waiting"]
    assert (
        waiting["status"],
        waiting["progress"],
        waiting["attempt"],
        waiting["priority"],
        waiting["max_attempts"],
        waiting["parameters"],
    ) == ("queued", 0, 0, "high", 4, {"id": "waiting"})
    assert waiting["started_at"] is None


async def test_runner_follows_appends_made_after_it_started(
    store: SQLiteEventStore, runner: ProjectionRunner, projections_db: Path
) -> None:
    runner.start()
    head = await append_task_mix(store, tasks=20)

    await runner.wait_for(head)

    assert len(dump_table(projections_db, "tasks")) == 20
    assert runner.position("tasks") == runner.position() == head


# -- rebuilds -------------------------------------------------------------------------


async def test_rebuild_gives_identical_rows_to_the_live_projection(
    store: SQLiteEventStore, runner: ProjectionRunner, projections_db: Path
) -> None:
    runner.start()
    head = await append_task_mix(store, tasks=40)
    await runner.wait_for(head)
    live = dump_table(projections_db, "tasks")
    await runner.stop()

    read = await runner.rebuild()

    assert read == head
    assert len(live) == 40
    assert dump_table(projections_db, "tasks") == live
    assert checkpoint(projections_db) == runner.position("tasks") == head
    indexes = {
        name
        for (name,) in query(
            projections_db,
            "SELECT name FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name = 'tasks' AND name NOT LIKE 'sqlite_%'",
        )
    }
    assert indexes == {"tasks_status", "tasks_type", "tasks_agent", "tasks_created"}


async def test_rebuild_of_the_agents_projection_gives_identical_rows_to_following_live(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    runner = await open_runner(store, projections_db, AgentsProjection())
    try:
        runner.start()
        head = await append_task_mix(store, tasks=40)
        await runner.wait_for(head)
        live = dump_table(projections_db, "agents")
        await runner.stop()

        await runner.rebuild()

        assert len(live) == 4
        assert dump_table(projections_db, "agents") == live
    finally:
        await close_runner(runner)


async def test_rebuild_until_a_position_gives_the_state_as_of_that_position(
    store: SQLiteEventStore, runner: ProjectionRunner, projections_db: Path
) -> None:
    runner.start()
    middle = await append_task_mix(store, tasks=20)
    await runner.wait_for(middle)
    as_of_middle = dump_table(projections_db, "tasks")
    # Later events change the same tasks and add new ones.
    for n in range(0, 20, 2):
        await store.append(
            f"task-t{n:04d}",
            ANY_VERSION,
            [
                TaskRequeued(task_id=f"t{n:04d}", attempt=5, reason="late"),
                TaskStarted(task_id=f"t{n:04d}", agent_id="agent-late", attempt=6),
            ],
        )
    await store.append(
        "task-new", NO_STREAM, [TaskCreated(task_id="new", task_type="echo", parameters={})]
    )
    await runner.wait_for(store.head)
    at_head = dump_table(projections_db, "tasks")
    assert at_head != as_of_middle
    await runner.stop()

    read = await runner.rebuild(until=middle)

    assert read == middle
    assert runner.position("tasks") == middle
    assert dump_table(projections_db, "tasks") == as_of_middle
    runner.start()  # and it follows on from there
    await runner.wait_for(store.head)
    assert dump_table(projections_db, "tasks") == at_head


async def test_rebuild_reports_progress_for_every_event_read(
    store: SQLiteEventStore, runner: ProjectionRunner
) -> None:
    head = await append_task_mix(store, tasks=10)
    reported: list[int] = []

    read = await runner.rebuild(progress=reported.append)

    assert read == sum(reported) == head


# -- checkpoints ----------------------------------------------------------------------


async def test_checkpoint_survives_a_restart_and_applied_events_are_not_applied_again(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    first = CountingTasks()
    runner = await open_runner(store, projections_db, first)
    runner.start()
    head = await append_task_mix(store, tasks=15)
    await runner.wait_for(head)
    await close_runner(runner)
    assert first.applied == await task_events_upto(store, head)
    assert checkpoint(projections_db) == head

    second = CountingTasks()
    runner = await open_runner(store, projections_db, second)
    try:
        assert runner.position("tasks") == head  # resumed, before following anything
        runner.start()
        for n in range(5):
            await store.append(
                f"task-late-{n}",
                NO_STREAM,
                [TaskCreated(task_id=f"late-{n}", task_type="echo", parameters={})],
            )
        await runner.wait_for(store.head)
    finally:
        await close_runner(runner)

    assert second.applied == list(range(head + 1, head + 6))
    assert len(dump_table(projections_db, "tasks")) == 20


async def test_checkpoint_survives_a_restart_of_both_store_and_runner(
    store: SQLiteEventStore, open_store: OpenStore, projections_db: Path
) -> None:
    runner = await open_runner(store, projections_db, CountingTasks())
    runner.start()
    head = await append_task_mix(store, tasks=10)
    await runner.wait_for(head)
    rows = dump_table(projections_db, "tasks")
    await close_runner(runner)
    await store.close()

    store = await open_store()
    again = CountingTasks()
    runner = await open_runner(store, projections_db, again)
    try:
        runner.start()
        await runner.wait_for(head)
        await asyncio.sleep(0.05)  # room to (wrongly) re-apply anything
    finally:
        await close_runner(runner)

    assert again.applied == []
    assert dump_table(projections_db, "tasks") == rows


async def test_events_no_projection_reads_still_move_the_checkpoint_by_stop(
    store: SQLiteEventStore, runner: ProjectionRunner, projections_db: Path
) -> None:
    await store.append(
        "task-a", NO_STREAM, [TaskCreated(task_id="a", task_type="echo", parameters={})]
    )
    runner.start()
    for _ in range(5):
        await store.append(
            "system", ANY_VERSION, [SystemAlerted(level="info", code="tick", message="hi")]
        )
        await store.append(
            "agent-agent-1",
            ANY_VERSION,
            [
                AgentConfigured(
                    agent_id="agent-1", timeout=1.0, max_concurrent_tasks=1, priority="low"
                )
            ],
        )
    await runner.wait_for(store.head)
    await runner.stop()

    assert checkpoint(projections_db) == store.head == 11


async def test_a_new_projection_version_drops_its_tables_and_rebuilds_from_the_start(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    runner = await open_runner(store, projections_db, TasksProjection())
    runner.start()
    head = await append_task_mix(store, tasks=10)
    await runner.wait_for(head)
    v1_rows = dump_table(projections_db, "tasks")
    await close_runner(runner)
    stale = list(v1_rows[0])
    stale[0] = "zz-only-in-v1"
    execute(
        projections_db, (f"INSERT INTO tasks VALUES ({', '.join('?' * len(stale))})", tuple(stale))
    )

    runner = await open_runner(store, projections_db, TasksV2())
    try:
        assert runner.position("tasks") == 0
        assert dump_table(projections_db, "tasks") == []
        runner.start()
        await runner.wait_for(head)
        assert dump_table(projections_db, "tasks") == v1_rows
        assert query(
            projections_db, "SELECT version FROM projection_checkpoints WHERE name = 'tasks'"
        ) == [(TasksV2.version,)]
    finally:
        await close_runner(runner)


async def test_a_failing_projection_is_reported_and_does_not_stop_the_others(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    broken = Broken()
    runner = await open_runner(store, projections_db, broken, TasksProjection())
    try:
        runner.start()
        head = await append_task_mix(store, tasks=5)

        await runner.wait_for(head, name="tasks")
        assert await asyncio.to_thread(broken.called.wait, WAIT)

        assert len(dump_table(projections_db, "tasks")) == 5
        assert runner.position("broken") == 0
        assert "this projection has a bug" in runner.errors["broken"]
        with pytest.raises(ProjectionTimeoutError):
            await runner.wait_for(head, timeout=0.05)
    finally:
        await close_runner(runner)


# -- read-your-writes -----------------------------------------------------------------


async def test_wait_for_returns_once_the_position_is_applied(
    store: SQLiteEventStore, runner: ProjectionRunner, projections_db: Path
) -> None:
    runner.start()
    for n in range(10):
        result = await store.append(
            f"task-{n}",
            NO_STREAM,
            [TaskCreated(task_id=f"id-{n}", task_type="echo", parameters={})],
        )

        await runner.wait_for(result.last_position, timeout=WAIT)

        assert runner.position("tasks") >= result.last_position
        assert query(
            projections_db, "SELECT status FROM tasks WHERE task_id = ?", (f"id-{n}",)
        ) == [("queued",)]


async def test_wait_for_a_position_already_applied_returns_at_once(
    store: SQLiteEventStore, runner: ProjectionRunner
) -> None:
    runner.start()
    head = await append_task_mix(store, tasks=3)
    await runner.wait_for(head)
    await runner.stop()

    await runner.wait_for(head, timeout=0.01)
    await runner.wait_for(1, timeout=0.01, name="tasks")


async def test_wait_for_a_position_never_reached_raises_projection_timeout_error(
    store: SQLiteEventStore, runner: ProjectionRunner
) -> None:
    runner.start()
    result = await store.append(
        "task-a", NO_STREAM, [TaskCreated(task_id="a", task_type="echo", parameters={})]
    )
    await runner.wait_for(result.last_position)

    with pytest.raises(ProjectionTimeoutError) as caught:
        await runner.wait_for(result.last_position + 5, timeout=0.05)

    assert isinstance(caught.value, TimeoutError)
    assert (
        caught.value.projection,
        caught.value.position,
        caught.value.reached,
        caught.value.timeout,
    ) == ("all", result.last_position + 5, result.last_position, 0.05)


async def test_wait_for_on_a_runner_not_started_times_out_naming_the_projection(
    store: SQLiteEventStore, runner: ProjectionRunner
) -> None:
    await store.append(
        "task-a", NO_STREAM, [TaskCreated(task_id="a", task_type="echo", parameters={})]
    )

    with pytest.raises(TimeoutError) as caught:
        await runner.wait_for(1, timeout=0.05, name="tasks")

    assert isinstance(caught.value, ProjectionTimeoutError)
    assert (caught.value.projection, caught.value.reached) == ("tasks", 0)


class Ratios(RowProjection):
    """One row per task holding a REAL column: progress / 3 has 16 significant digits."""

    name: ClassVar[str] = "ratios"
    event_types: ClassVar[frozenset[str] | None] = frozenset({"task.progress"})
    tables: ClassVar[tuple[str, ...]] = ("ratios",)
    table: ClassVar[str] = "ratios"
    key: ClassVar[str] = "task_id"
    columns: ClassVar[tuple[str, ...]] = ("task_id", "ratio", "seen")

    def schema(self) -> str:
        return (
            "CREATE TABLE IF NOT EXISTS ratios"
            " (task_id TEXT PRIMARY KEY, ratio REAL NOT NULL, seen INTEGER NOT NULL);"
        )

    def key_of(self, event: Event) -> str | None:
        task_id: str = event.data.task_id
        return task_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        if row is None:
            return {"task_id": event.data.task_id, "ratio": event.data.progress / 3, "seen": 1}
        row["seen"] += 1
        return row


async def test_row_projection_keeps_a_real_column_exact_when_a_later_batch_loads_its_row(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    runner = await open_runner(store, projections_db, Ratios())
    try:
        runner.start()
        first = await store.append(
            "task-a", NO_STREAM, [TaskProgressed(task_id="a", agent_id="x", progress=1)]
        )
        await runner.wait_for(first.last_position)
        assert query(projections_db, "SELECT ratio FROM ratios") == [(1 / 3,)]

        second = await store.append(
            "task-a", 1, [TaskProgressed(task_id="a", agent_id="x", progress=2)]
        )  # loads the row back
        await runner.wait_for(second.last_position)
    finally:
        await close_runner(runner)

    assert query(projections_db, "SELECT ratio, seen FROM ratios") == [(1 / 3, 2)]


class RatiosFailingOnce(Ratios):
    """Counts each task's progress events (not idempotent: a re-fold shows), and fails
    the transaction once after writing, with its rows already cached."""

    def __init__(self) -> None:
        self.failed = False

    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        super().apply(db, events)
        if not self.failed and self._recent:
            self.failed = True
            raise RuntimeError("failed after writing")


async def test_rows_cached_by_a_transaction_that_did_not_commit_are_forgotten(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    flaky = RatiosFailingOnce()
    runner = await open_runner(store, projections_db, TasksProjection(), flaky)
    try:
        runner.start()
        head = await append_task_mix(store, tasks=40)
        await runner.wait_for(head, timeout=WAIT)  # after its retry, on its own
        live = dump_table(projections_db, "ratios")
        await runner.stop()

        await runner.rebuild(["ratios"])

        assert flaky.failed
        assert dump_table(projections_db, "ratios") == live
    finally:
        await close_runner(runner)
