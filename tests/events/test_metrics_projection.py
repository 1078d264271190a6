"""The metrics projection: tasks minute by minute, keyed by the events' own times, so
the same log gives the same rows however it is cut into batches, live or rebuilt."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from events.envelope import Event, EventData, Meta
from events.projections import MetricsProjection, ProjectionRunner
from events.queries import metrics as queries
from events.store import SQLiteEventStore
from events.types import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskRequeued,
    TaskStarted,
)

from .support import WAIT, append_task_mix, query

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""12:00:00 UTC: a minute, a 5-minute and an hour boundary."""
TABLES = ("metrics_minutes", "metrics_open", "metrics_depth")


def at(seconds: float, data: EventData, position: list[int] = [0]) -> Event:  # noqa: B006
    position[0] += 1
    return Event(
        event_id=f"e{position[0]}",
        stream=f"task-{data.task_id}",  # type: ignore[attr-defined]
        version=1,
        position=position[0],
        type=data.type_name,
        schema=1,
        data=data,
        meta=Meta(),
        ts=T0 + timedelta(seconds=seconds),
        hash="",
    )


def story() -> list[Event]:
    """Four tasks over three minutes: two agents busy, one task waiting for them."""
    return [
        at(0, TaskCreated(task_id="a", task_type="echo", parameters={}, assigned_agents=["x"])),
        at(1, TaskCreated(task_id="b", task_type="echo", parameters={}, assigned_agents=["x"])),
        at(2, TaskCreated(task_id="c", task_type="echo", parameters={}, assigned_agents=["y"])),
        at(3, TaskStarted(task_id="a", agent_id="x")),
        at(4, TaskStarted(task_id="c", agent_id="y")),
        at(6, TaskCompleted(task_id="a", agent_id="x", result={})),  # ran 3 s
        at(61, TaskStarted(task_id="b", agent_id="x")),
        at(62, TaskRequeued(task_id="b", attempt=1, reason="timeout", agent_id="x")),
        at(63, TaskStarted(task_id="b", agent_id="x", attempt=2)),
        at(70, TaskFailed(task_id="b", agent_id="x", reason="boom")),  # ran 7 s (attempt 2)
        at(90, TaskCompleted(task_id="c", agent_id="y", result={})),  # ran 86 s
        at(125, TaskCreated(task_id="d", task_type="echo", parameters={}, assigned_agents=["x"])),
        at(130, TaskCancelled(task_id="d")),
    ]


@contextlib.contextmanager
def database(path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(MetricsProjection().schema())
        yield db


def fold(db: sqlite3.Connection, batches: list[list[Event]]) -> None:
    projection = MetricsProjection()
    for batch in batches:
        db.execute("BEGIN")
        projection.apply(db, batch)
        db.execute("COMMIT")


def dump(db: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def minute(n: int) -> int:
    return int(T0.timestamp()) + 60 * n


def test_each_minute_counts_what_ended_in_it_and_the_queue_it_saw(tmp_path: Path) -> None:
    with database(tmp_path / "p.db") as db:
        fold(db, [story()])
        rows = db.execute(
            "SELECT agent_id, minute, completed, failed, cancelled, timed, duration_us,"
            " queue_end, queue_peak FROM metrics_minutes ORDER BY agent_id, minute"
        ).fetchall()
        open_tasks = db.execute("SELECT * FROM metrics_open").fetchall()
        depth = dict(db.execute("SELECT agent_id, depth FROM metrics_depth").fetchall())

    assert rows == [
        ("", minute(0), 1, 0, 0, 1, 3_000_000, 1, 3),
        ("", minute(1), 1, 1, 0, 2, 7_000_000 + 86_000_000, 0, 1),
        ("", minute(2), 0, 0, 1, 0, 0, 0, 1),
        ("x", minute(0), 1, 0, 0, 1, 3_000_000, 1, 2),
        ("x", minute(1), 0, 1, 0, 1, 7_000_000, 0, 1),
        ("x", minute(2), 0, 0, 0, 0, 0, 0, 1),
        ("y", minute(0), 0, 0, 0, 0, 0, 0, 1),
        ("y", minute(1), 1, 0, 0, 1, 86_000_000, None, None),
    ]
    assert open_tasks == []
    assert depth == {"": 0, "x": 0, "y": 0}


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_any_cut_into_batches_gives_the_same_rows(tmp_path: Path, size: int) -> None:
    events = story()
    with database(tmp_path / "whole.db") as whole, database(tmp_path / "cut.db") as cut:
        fold(whole, [events])
        fold(cut, [events[i : i + size] for i in range(0, len(events), size)])

        assert dump(cut) == dump(whole)


async def test_buckets_sum_minutes_and_carry_the_queue_over(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with database(path) as db:
        fold(db, [story()[:7]])  # b is still running at 12:01:01 (c too)
    window = queries.Window(minute(-2), 60, 6)  # 11:58 .. 12:03

    async with aiosqlite.connect(path) as db:
        every = await queries.task_buckets(db, window)
        on_x = await queries.task_buckets(db, window, "x")

    assert [b.completed for b in every] == [0, 0, 1, 0, 0, 0]
    assert [b.queue_depth for b in every] == [0, 0, 3, 1, 0, 0]
    assert [b.queue_depth for b in on_x] == [0, 0, 2, 1, 0, 0]
    assert queries.task_values("response_time", every, 60) == [None, None, 3.0, None, None, None]
    assert queries.task_values("throughput", every, 60) == [0, 0, 1.0, 0, 0, 0]
    assert queries.task_values("success_rate", every, 60)[2] == 1.0


def test_a_window_is_aligned_on_its_step_and_ends_with_the_bucket_now_is_in() -> None:
    now = T0.timestamp() + 7 * 60 + 5  # 12:07:05

    window = queries.Window.of("1h", now)

    assert (window.step, window.count) == (300, 12)
    assert window.stamps()[-1] == "2026-03-01T12:05:00Z"
    assert window.stamps()[0] == "2026-03-01T11:10:00Z"
    assert [queries.Window.of(p, now).count for p in queries.PERIODS] == [12, 24, 24, 28, 30]


async def test_a_rebuild_gives_the_rows_following_live_gave(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    runner = await ProjectionRunner.open(store, projections_db, [MetricsProjection()])
    try:
        runner.start()
        head = await append_task_mix(store, tasks=60)
        await runner.wait_for(head)
        live = {t: query(projections_db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in TABLES}
        await runner.stop()

        await runner.rebuild()

        rebuilt = {t: query(projections_db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in TABLES}
        assert rebuilt == live
        assert sum(row[2] for row in live["metrics_minutes"] if row[0] == "") > 0
        assert live["metrics_open"] == []
    finally:
        async with asyncio.timeout(WAIT):
            await runner.close()
