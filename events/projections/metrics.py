"""The `metrics` read model: what tasks did, minute by minute, for the metrics history.

`metrics_minutes` has a row per (agent, UTC minute) in which something happened, keyed
by the events' own timestamps, so a rebuild gives the same rows: tasks completed,
failed and cancelled in that minute, the durations of those that ran (whole
microseconds from their last `task.started`; float sums would differ with batch
boundaries), and the queue: how many tasks were queued after the minute's last change
(`queue_end`) and the most at any moment in it (`queue_peak`). Agent '' is every task
(a composite and each of its parts alike); an agent's own rows count the tasks that
ended on it, and its queue is the queued tasks it may run (their `assigned_agents`).

`metrics_open` holds each unfinished task's state (queued or running, since when, on
which agent), `metrics_depth` the queue depths now; a task's row goes when it ends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import msgspec

from events.clock import micros
from events.envelope import Event
from events.projections.base import Projection
from events.types import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskRequeued,
    TaskStarted,
)

EVERY_TASK = ""
"""The agent id of the rows that count every task."""
MINUTE_US = 60_000_000

_UPSERT_MINUTE = """
INSERT INTO metrics_minutes
    (agent_id, minute, completed, failed, cancelled, timed, duration_us, queue_end, queue_peak)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (agent_id, minute) DO UPDATE SET
    completed = completed + excluded.completed,
    failed = failed + excluded.failed,
    cancelled = cancelled + excluded.cancelled,
    timed = timed + excluded.timed,
    duration_us = duration_us + excluded.duration_us,
    queue_end = coalesce(excluded.queue_end, queue_end),
    queue_peak = CASE WHEN excluded.queue_peak IS NULL THEN queue_peak
                      WHEN queue_peak IS NULL THEN excluded.queue_peak
                      ELSE max(queue_peak, excluded.queue_peak) END
"""
_UPSERT_OPEN = (
    "INSERT OR REPLACE INTO metrics_open (task_id, queued, agent_id, candidates, started_us)"
    " VALUES (?, ?, ?, ?, ?)"
)
_LOAD_OPEN = (
    "SELECT task_id, queued, agent_id, candidates, started_us FROM metrics_open"
    " WHERE task_id IN (SELECT value FROM json_each(?))"
)
_DELETE_OPEN = "DELETE FROM metrics_open WHERE task_id IN (SELECT value FROM json_each(?))"

_encoder = msgspec.json.Encoder()


def _encode(value: list[str]) -> str:
    return _encoder.encode(value).decode()


_decode = msgspec.json.Decoder(list[str]).decode


@dataclass
class _Open:
    """An unfinished task, as this model needs it."""

    queued: bool
    agent_id: str | None
    candidates: list[str]
    started_us: int | None = None


@dataclass
class _Minute:
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    timed: int = 0
    duration_us: int = 0
    queue_end: int | None = None
    queue_peak: int | None = None


@dataclass
class _Batch:
    """One batch's changes, folded in memory and written once."""

    tasks: dict[str, _Open | None]
    depth: dict[str, int]
    minutes: dict[tuple[str, int], _Minute] = field(default_factory=dict)

    def minute(self, agent_id: str, minute: int) -> _Minute:
        row = self.minutes.get((agent_id, minute))
        if row is None:
            row = self.minutes[agent_id, minute] = _Minute()
        return row

    def queue(self, task: _Open, minute: int, delta: int) -> None:
        """`task` joined (+1) or left (-1) the queue in `minute`."""
        for agent_id in (EVERY_TASK, *task.candidates):
            before = self.depth.get(agent_id, 0)
            after = self.depth[agent_id] = max(0, before + delta)
            row = self.minute(agent_id, minute)
            # The first change in a minute also saw the depth the minute started with.
            row.queue_peak = max(after, before if row.queue_peak is None else row.queue_peak)
            row.queue_end = after

    def ended(self, agent_id: str | None, minute: int, outcome: str, took: int | None) -> None:
        for who in (EVERY_TASK, agent_id) if agent_id else (EVERY_TASK,):
            row = self.minute(who, minute)
            if outcome == "completed":
                row.completed += 1
            elif outcome == "failed":
                row.failed += 1
            else:
                row.cancelled += 1
            if took is not None:
                row.timed += 1
                row.duration_us += took


class MetricsProjection(Projection):
    name: ClassVar[str] = "metrics"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {
            "task.created",
            "task.started",
            "task.completed",
            "task.failed",
            "task.cancelled",
            "task.requeued",
        }
    )
    tables: ClassVar[tuple[str, ...]] = ("metrics_minutes", "metrics_open", "metrics_depth")

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS metrics_minutes (
            agent_id    TEXT NOT NULL,
            minute      INTEGER NOT NULL,
            completed   INTEGER NOT NULL,
            failed      INTEGER NOT NULL,
            cancelled   INTEGER NOT NULL,
            timed       INTEGER NOT NULL,
            duration_us INTEGER NOT NULL,
            queue_end   INTEGER,
            queue_peak  INTEGER,
            PRIMARY KEY (agent_id, minute)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS metrics_open (
            task_id     TEXT PRIMARY KEY,
            queued      INTEGER NOT NULL,
            agent_id    TEXT,
            candidates  TEXT NOT NULL,
            started_us  INTEGER
        );
        CREATE TABLE IF NOT EXISTS metrics_depth (
            agent_id    TEXT PRIMARY KEY,
            depth       INTEGER NOT NULL
        );
        """

    def apply(self, db: sqlite3.Connection, events: Sequence[Event]) -> None:
        created = {e.data.task_id for e in events if e.type == "task.created"}
        wanted = {e.data.task_id for e in events} - created
        batch = _Batch(tasks=_load_open(db, wanted), depth=_load_depth(db))
        for event in events:
            _fold(batch, event)
        _write(db, batch)


def _fold(batch: _Batch, event: Event) -> None:
    data, now = event.data, micros(event.ts)
    minute = now // MINUTE_US * 60
    tasks = batch.tasks
    if isinstance(data, TaskCreated):
        created = tasks[data.task_id] = _Open(True, None, list(data.assigned_agents))
        batch.queue(created, minute, +1)
        return
    task = tasks.get(data.task_id)
    match data:
        case TaskStarted():
            if task is None:
                return
            if task.queued:
                batch.queue(task, minute, -1)
            task.queued, task.agent_id, task.started_us = False, data.agent_id, now
        case TaskRequeued():
            if task is None or task.queued:
                return
            batch.queue(task, minute, +1)
            task.queued, task.agent_id, task.started_us = True, None, None
        case TaskCompleted() | TaskFailed() | TaskCancelled():
            tasks[data.task_id] = None
            if task is not None and task.queued:
                batch.queue(task, minute, -1)
            started = task.started_us if task is not None else None
            agent_id = data.agent_id or (task.agent_id if task is not None else None)
            outcome = event.type.removeprefix("task.")
            batch.ended(agent_id, minute, outcome, None if started is None else now - started)


def _load_open(db: sqlite3.Connection, task_ids: Iterable[str]) -> dict[str, _Open | None]:
    ids = list(task_ids)
    if not ids:
        return {}
    rows = db.execute(_LOAD_OPEN, (_encode(ids),)).fetchall()
    return {r[0]: _Open(bool(r[1]), r[2], _decode(r[3]), r[4]) for r in rows}


def _load_depth(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("SELECT agent_id, depth FROM metrics_depth").fetchall())


def _write(db: sqlite3.Connection, batch: _Batch) -> None:
    ended = [task_id for task_id, task in batch.tasks.items() if task is None]
    if ended:
        db.execute(_DELETE_OPEN, (_encode(ended),))
    db.executemany(
        _UPSERT_OPEN,
        [
            (task_id, task.queued, task.agent_id, _encode(task.candidates), task.started_us)
            for task_id, task in batch.tasks.items()
            if task is not None
        ],
    )
    db.executemany(
        "INSERT OR REPLACE INTO metrics_depth (agent_id, depth) VALUES (?, ?)",
        list(batch.depth.items()),
    )
    db.executemany(
        _UPSERT_MINUTE,
        [
            (agent_id, minute, m.completed, m.failed, m.cancelled, m.timed, m.duration_us,
             m.queue_end, m.queue_peak)
            for (agent_id, minute), m in batch.minutes.items()
        ],
    )  # fmt: skip
